package worker_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/trace"
)

// BenchmarkPipeline decodes a recorded trace and judges it with the
// builtin rules, as re-judging a stored analysis does; it reports events/s.
// "stored" reads the trace in the binary form the farm stores, "jsonl" in
// the JSONL the farm stored before it (the numbers of earlier days).
func BenchmarkPipeline(b *testing.B) {
	jsonl, err := os.ReadFile("testdata/recorded.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	tr, err := trace.Decode(bytes.NewReader(jsonl))
	if err != nil {
		b.Fatal(err)
	}
	var stored bytes.Buffer
	if err := trace.EncodeBinary(&stored, tr); err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	for _, form := range []struct {
		name string
		data []byte
	}{{"stored", stored.Bytes()}, {"jsonl", jsonl}} {
		b.Run(form.name, func(b *testing.B) {
			var events int
			for b.Loop() {
				tr, err := trace.Decode(bytes.NewReader(form.data))
				if err != nil {
					b.Fatal(err)
				}
				rs.Judge(tr)
				events += len(tr.Events)
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
