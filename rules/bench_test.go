package rules

import (
	"fmt"
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
