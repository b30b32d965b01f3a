package rules

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/trace"
)

// benchTrace builds a trace shaped like a real install: mostly runtime and
// module opens, some execs, forks, exits and network.
func benchTrace(n int) *trace.Trace {
	b := &tb{}
	b.exec(1, "/usr/bin/node", "node", "/usr/bin/npm", "install", "pkg")
	b.fork(1, 2)
	b.exec(2, "/bin/sh", "sh", "-c", "node install.js")
	b.fork(2, 3)
	b.exec(3, "/usr/bin/node", "node", "install.js")
	next := uint32(4)
	for len(b.tr.Events) < n {
		i := len(b.tr.Events)
		switch {
		case i%500 == 0:
			b.fork(3, next)
			b.add(trace.Event{Kind: trace.KindExec, TGID: next, Start: uint64(next), Path: "/usr/bin/cc",
				Argv: []string{"cc", "-c", fmt.Sprintf("src/file%d.c", i), "-o", "build/out.o"}, Cwd: "/home/alex/projects/app/node_modules/pkg"})
			b.add(trace.Event{Kind: trace.KindExit, TGID: next, Start: uint64(next)})
			next++
		case i%97 == 0:
			b.connect(3)
		case i%89 == 0:
			b.add(trace.Event{Kind: trace.KindDNS, Name: fmt.Sprintf("h%d.cdn.example.invalid", i%7)})
		case i%3 == 0:
			b.open(3, fmt.Sprintf("/home/alex/projects/app/node_modules/dep%d/lib/index.js", i%50))
		case i%3 == 1:
			b.open(3, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
		default:
			b.add(trace.Event{Kind: trace.KindOpen, TGID: 3, Start: 3, Path: "/home/alex/projects/app/node_modules/pkg/build/out.o", Flags: trace.OWronly | trace.OCreat, Ret: 3})
		}
	}
	return &b.tr
}

func BenchmarkJudge(b *testing.B) {
	s, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	tr := benchTrace(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Judge(tr)
	}
	b.ReportMetric(float64(len(tr.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchCaptureTrace is benchTrace with planted secrets and, every 250
// events, a capture the honeytoken matcher has to decode: JSON and gzip
// HTTP bodies, base64 in a URL, a DNS query with an encoded label, a
// binary TCP payload. None carries a planted secret: the worst case.
func benchCaptureTrace(n int) *trace.Trace {
	tr := benchTrace(n)
	var gzBody bytes.Buffer
	w := gzip.NewWriter(&gzBody)
	w.Write(bytes.Repeat([]byte(`{"event":"install","ok":true,"n":12345}`), 40))
	w.Close()
	random := make([]byte, 2048)
	for i := range random {
		random[i] = byte(i*7919 + i>>3)
	}
	captures := []trace.Event{
		{Kind: trace.KindHTTP, Addr: "100.64.0.1", Port: 80, Name: "telemetry.example.invalid", Method: "POST", URI: "/v1/collect",
			Headers: []string{"Host: telemetry.example.invalid", "Content-Type: application/json"},
			Data:    bytes.Repeat([]byte(`{"name":"pkg","version":"1.2.3","node":"v22.1.0","platform":"linux"},`), 30)},
		{Kind: trace.KindHTTP, Addr: "100.64.0.1", Port: 80, Name: "telemetry.example.invalid", Method: "POST", URI: "/v1/z",
			Headers: []string{"Host: telemetry.example.invalid", "Content-Encoding: gzip"}, Data: gzBody.Bytes()},
		{Kind: trace.KindHTTP, Addr: "100.64.0.1", Port: 443, Name: "cdn.example.invalid", Method: "GET",
			URI: "/d?x=" + base64.StdEncoding.EncodeToString(random[:300]), Headers: []string{"Host: cdn.example.invalid"}},
		{Kind: trace.KindDNS, Addr: "100.64.0.1", Port: 53, Name: hex.EncodeToString(random[:30]) + ".t.example.invalid", QType: "A"},
		{Kind: trace.KindTCP, Addr: "100.64.0.1", Port: 4444, Data: random},
	}
	plants := []trace.Event{
		{Kind: trace.KindPlant, Phase: "setup", Name: "npm-token", Path: "/home/alex/.npmrc", Data: []byte("npm_Q3vXk9LmP2rT8sWb4NcY7hJd1FgA6eZuKo5i")},
		{Kind: trace.KindPlant, Phase: "setup", Name: "aws-secret-access-key", Path: "env:AWS_SECRET_ACCESS_KEY", Data: []byte("wJ8rT5kL2mN9pQ4sV7xZ1bC3dF6gH0jK+Y/uE2aR")},
		{Kind: trace.KindPlant, Phase: "setup", Name: "pypi-token", Path: "/home/alex/.pypirc", Data: []byte("pypi-AgEIcHlwaS5vcmc" + strings.Repeat("k9LmP2rT8sWb4NcY7hJd1FgA6e", 5))},
	}
	out := &trace.Trace{Events: plants}
	for i, e := range tr.Events {
		if i%250 == 0 {
			c := captures[(i/250)%len(captures)]
			c.Phase = e.Phase
			out.Events = append(out.Events, c)
		}
		out.Events = append(out.Events, e)
	}
	for i := range out.Events {
		out.Events[i].Seq = uint64(i + 1)
	}
	return out
}

// BenchmarkJudgeCaptures is BenchmarkJudge with planted secrets and
// captures to decode: the cost of the honeytoken matcher.
func BenchmarkJudgeCaptures(b *testing.B) {
	s, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	tr := benchCaptureTrace(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Judge(tr)
	}
	b.ReportMetric(float64(len(tr.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
