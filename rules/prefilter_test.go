package rules

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/trace"
)

func TestPrefilterChecks(t *testing.T) {
	env := Env{Package: true, Writes: false, Path: "/home/alex/.npmrc", Kind: "open"}
	tests := []struct {
		src  string
		want bool
	}{
		{`package_code && !writes && Glob(path, "~/.npmrc")`, true},
		{`package_code && writes`, false},
		{`!package_code || writes`, false},
		{`!package_code || Base(path) == "x"`, true}, // an alternative without a check
		{`package_code && (planted == "npm-token" || Glob(path, "~/.npmrc"))`, true},
		{`package_code && (planted == "npm-token" || Glob(path, "~/.pypirc"))`, false},
		{`planted != "" || path == "/etc/shadow"`, false},
		{`planted != "x" && (kind == "memread" || proc_entry in ["environ", "mem"])`, false},
		{`GlobAny(path, "~/.ssh/*", "/etc/*")`, false},
		// long lists are indexed by literal base names
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "**/.npmrc")`, true},
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "/home/*/.npmrc")`, true},
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "~/.npm*")`, true},
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "/root/.npmrc")`, false},
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "~/.npmr?")`, true},
		{`GlobAny(path, "~/.a", "~/.b", "~/.c", "/etc/d", "~/.e", "~/.f", "~/.g", "~/.yarnrc")`, false},
		{`path in ["/etc/shadow", "/home/alex/.npmrc"]`, true},
		{`path == "/etc/shadow" && package_code`, false},
		{`path endsWith ".npmrc" && path startsWith "/home/" && path contains "alex"`, true},
		{`kind == "exec"`, false},
		{`Glob(cmdline, "x")`, true}, // not a prefiltered field
	}
	for _, tt := range tests {
		pf := newPrefilter(tt.src)
		if got := pf.pass(&env, flagBits(&env), nil); got != tt.want {
			t.Errorf("prefilter(%s).pass = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestPrefilterNeverRejectsAMatch judges every event of every fixture and
// golden trace with every builtin matcher and checks that the prefilter
// passes each event the expression accepts.
func TestPrefilterNeverRejectsAMatch(t *testing.T) {
	s, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".jsonl") {
			files = append(files, p)
		}
		return err
	})
	if len(files) < 2*len(s.Rules()) {
		t.Fatalf("found %d traces, want at least %d", len(files), 2*len(s.Rules()))
	}
	checked := 0
	for _, f := range files {
		tr := readTrace(t, f)
		j := &judge{set: s, table: trace.NewTable(tr.Phases, s.policy)}
		for i := range tr.Events {
			e := &tr.Events[i]
			p := j.table.Feed(e)
			if e.Kind == trace.KindPlant {
				j.plant(e)
			}
			j.env.fill(e)
			fillProc(&j.env, p, j.table)
			j.fillAccess(&j.env, e, p)
			for _, c := range s.rules {
				for step, prog := range c.steps {
					if !slices.Contains(c.kinds[step], e.Kind) || !j.run(prog, &j.env) {
						continue
					}
					checked++
					if !c.pre[step].pass(&j.env, flagBits(&j.env), &j.globs) {
						t.Errorf("%s: rule %s step %d: prefilter rejects matching event %s", f, c.ID, step, e)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no matching events checked")
	}
}
