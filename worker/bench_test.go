package worker_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/trace"
)

// BenchmarkPipeline decodes a recorded trace (JSONL) and judges it with the
// builtin rules, as re-judging a stored analysis does; it reports events/s.
func BenchmarkPipeline(b *testing.B) {
	data, err := os.ReadFile("testdata/recorded.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var events int
	for b.Loop() {
		tr, err := trace.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		rs.Judge(tr)
		events += len(tr.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
