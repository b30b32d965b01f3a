package bpf

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/fumehood/fumehood/trace"
)

// TestFailedExec checks that exec attempts that fail are recorded with the
// filename as given, argv, cwd and the error, and that a successful exec is
// reported once (by sched_process_exec), not also as an attempt.
func TestFailedExec(t *testing.T) {
	tr := load(t, Options{})
	cg := newCgroup(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// What a sinkhole answers for a "second stage": HTML, not a program.
	stage := filepath.Join(dir, ".stage")
	if err := os.WriteFile(stage, []byte("<html><body>ok</body></html>\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rec, err := tr.Watch(cg.id)
	if err != nil {
		t.Fatal(err)
	}
	// env execs the file itself (a shell would retry it as a script); a
	// missing program fails with ENOENT; /bin/true succeeds.
	run(t, cg, fmt.Sprintf("cd %s && { /usr/bin/env ./.stage --flag 'arg two'; ./missing/prog x; /bin/true; } 2>/dev/null; exit 0", dir))
	events := stop(t, rec)

	failed := find(events, trace.KindExec, func(e *trace.Event) bool { return e.Failed() })
	type attempt struct {
		path string
		argv []string
		cwd  string
		ret  int64
	}
	var got []attempt
	for _, e := range failed {
		got = append(got, attempt{e.Path, e.Argv, e.Cwd, e.Ret})
	}
	want := []attempt{
		{"./.stage", []string{"./.stage", "--flag", "arg two"}, dir, -int64(syscall.ENOEXEC)},
		{"./missing/prog", []string{"./missing/prog", "x"}, dir, -int64(syscall.ENOENT)},
	}
	// env may search PATH first when the name has no slash; these have one.
	if !slices.EqualFunc(got, want, func(a, b attempt) bool {
		return a.path == b.path && slices.Equal(a.argv, b.argv) && a.cwd == b.cwd && a.ret == b.ret
	}) {
		t.Errorf("failed execs:\ngot  %+v\nwant %+v\n%s", got, want, dump(events))
	}
	trues := find(events, trace.KindExec, func(e *trace.Event) bool { return e.Path == "/bin/true" })
	if len(trues) != 1 || trues[0].Ret != 0 || !slices.Equal(trues[0].Argv, []string{"/bin/true"}) {
		t.Errorf("exec of /bin/true: got %s, want one successful exec", dump(trues))
	}
}
