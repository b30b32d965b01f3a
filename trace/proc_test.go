package trace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testPolicy is the sandbox image's policy as rules/builtin/lists.yaml
// states it (writable_dirs, package_manager_executables).
var testPolicy = Policy{
	Writable: []string{"/home/", "/root/", "/tmp/", "/var/tmp/", "/dev/shm/", "/run/", "/dev/fd/", "/proc/", "/memfd:"},
	ManagerExecutables: []string{
		"/usr/bin/git", "/usr/lib/git-core/", "/usr/bin/uname",
		"/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real",
	},
}

// renderTable writes one line per process, in order of first appearance,
// indented by its depth in the tree: key, role, why, and what it runs.
func renderTable(tb *Table) string {
	var b strings.Builder
	for _, p := range tb.Processes() {
		depth := 0
		for q := p.ParentProcess(); q != nil && depth < maxDepth; q = q.ParentProcess() {
			depth++
		}
		fmt.Fprintf(&b, "%s%s %s %s (%s) %s: %s", strings.Repeat("  ", depth), p.Phase, p.Key, p.Role, p.Why, p.Comm, p.Cmdline())
		if p.Main {
			b.WriteString(" [main]")
		}
		if p.Exited {
			b.WriteString(" [exited]")
		}
		if p.Alive {
			b.WriteString(" [alive at end]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestTableGolden builds the table of every recorded trace here and in
// rules/testdata and compares it with testdata/table/NAME.golden.
func TestTableGolden(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata", "../rules/testdata"} {
		f, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) < 8 {
		t.Fatalf("found %d traces, want the recorded traces of trace/testdata and rules/testdata", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			tr, err := Decode(fh)
			if err != nil {
				t.Fatal(err)
			}
			got := renderTable(BuildTable(tr, testPolicy))
			golden := filepath.Join("testdata", "table", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("table differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestTablePidReuse(t *testing.T) {
	tb := BuildTable(load(t, "tree.jsonl"), testPolicy)
	npmKey := ProcKey{TGID: 100, Start: 1000}
	first := tb.Process(ProcKey{TGID: 101, Start: 2000})
	second := tb.Process(ProcKey{TGID: 101, Start: 3000})
	if first == nil || second == nil || first == second {
		t.Fatalf("pid 101 reused: want two processes, got %v and %v", first, second)
	}
	if first.Exe != "/bin/sh" || second.Exe != "/usr/bin/node" {
		t.Errorf("exes = %q, %q; want /bin/sh and the parent's /usr/bin/node (forked, never exec'd)", first.Exe, second.Exe)
	}
	npm := tb.Process(npmKey)
	if npm.Exe != "/usr/bin/node" || len(npm.Execs) != 1 {
		t.Errorf("npm after a failed exec attempt: exe %q execs %v, want /usr/bin/node and one exec", npm.Exe, npm.Execs)
	}
	if first.Parent != npmKey || !first.Descends(npm) || npm.Descends(first) {
		t.Errorf("sh: parent %v, descends from npm %v, npm from sh %v; want npm, true, false", first.Parent, first.Descends(npm), npm.Descends(first))
	}
	if first.Role != RolePackageCode || second.Role != RolePackageManager || npm.Role != RolePackageManager {
		t.Errorf("roles sh %s, npm fork %s, npm %s; want package code, package manager, package manager", first.Role, second.Role, npm.Role)
	}
}

// ev is a shorthand for events of the role tests: phase install, tgid =
// start = pid.
func ev(kind Kind, pid, ppid uint32, comm, path string, argv ...string) Event {
	return Event{Phase: "install", Kind: kind, PID: pid, TGID: pid, PPID: ppid, Start: uint64(pid), Comm: comm, Path: path, Argv: argv, Cwd: "/home/alex/projects/app"}
}

func fork(parent, ppid, child uint32, comm string) Event {
	e := ev(KindFork, parent, ppid, comm, "")
	e.ChildPID, e.ChildStart = child, uint64(child)
	return e
}

// TestTableRoles checks that nothing a package controls (names, argv,
// comm, paths it chooses) moves a process between roles.
func TestTableRoles(t *testing.T) {
	init := []Event{
		ev(KindExec, 1, 0, "sh", "/bin/sh", "/bin/sh", "-c", "exec \"$@\"", "sh", "npm", "install"),
		fork(1, 0, 10, "sh"),
		ev(KindExec, 10, 1, "npm", "/usr/bin/npm", "npm", "install"),
		ev(KindExec, 10, 1, "node", "/usr/bin/node", "node", "/usr/bin/npm", "install"),
	}
	meta := []PhaseInfo{{Name: "install", Init: ProcKey{TGID: 1, Start: 1}, Command: RolePackageManager}}
	tools := []PhaseInfo{{Name: "install", Init: ProcKey{TGID: 1, Start: 1}, Command: RolePackageManager, Tools: []string{"/usr/bin/ssh"}}}
	tests := []struct {
		name   string
		phases []PhaseInfo
		events []Event
		pid    uint32
		want   Role
		why    string
	}{
		{"init", meta, init, 1, RoleRuntime, WhyInit},
		{"phase command", meta, init, 10, RolePackageManager, WhyCommand},
		{"lifecycle shell", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "sh", "/bin/sh", "sh", "-c", "node check.js npm")),
			11, RolePackageCode, WhyScript},
		{"node check.js npm", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "sh", "/bin/sh", "sh", "-c", "node check.js npm"),
			fork(11, 10, 12, "sh"), ev(KindExec, 12, 11, "node", "/usr/bin/node", "node", "check.js", "npm")),
			12, RolePackageCode, WhyForked},
		{"package code runs the real npm", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "sh", "/bin/sh", "sh", "-c", "npm run build"),
			fork(11, 10, 12, "sh"), ev(KindExec, 12, 11, "npm", "/usr/bin/npm", "npm", "run", "build")),
			12, RolePackageCode, WhyForked},
		{"comm set to npm", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "sh", "/bin/sh", "sh", "-c", "node x.js"),
			ev(KindOpen, 11, 10, "npm", "/home/alex/.npmrc")),
			11, RolePackageCode, WhyScript},
		{"package manager runs git", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "git", "/usr/bin/git", "git", "ls-remote")),
			11, RolePackageManager, WhyHelper},
		{"package manager runs a writable file", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "git", "node_modules/.bin/git", "git")),
			11, RolePackageCode, WhyWritable},
		{"package manager's fork stays", meta, append(init[:4:4], fork(10, 1, 11, "node")),
			11, RolePackageManager, WhyForked},
		{"orphan reparented to init", meta, append(init[:4:4], ev(KindOpen, 20, 1, "npm", "/home/alex/.npmrc")),
			20, RolePackageCode, WhyReparented},
		{"init's events missing", meta, append([]Event{}, init[2:4]...), 10, RolePackageManager, WhyCommand},
		{"no metadata: first exec", nil, init, 1, RolePackageManager, WhyCommand},
		{"metadata without init: first exec", []PhaseInfo{{Name: "install", Command: RolePackageCode}}, init[2:4],
			10, RolePackageCode, WhyCommand},
		{"a phase's tool stays", tools, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "ssh", "/usr/bin/ssh", "ssh", "git@host")),
			11, RolePackageManager, WhyHelper},
		{"a phase's tool's script is package code", tools, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "ssh", "/usr/bin/ssh", "ssh", "git@host"),
			fork(11, 10, 12, "ssh"), ev(KindExec, 12, 11, "sh", "/bin/sh", "sh", "-c", "nc evil 22")),
			12, RolePackageCode, WhyScript},
		{"another phase's tool is package code", meta, append(init[:4:4],
			fork(10, 1, 11, "node"), ev(KindExec, 11, 10, "ssh", "/usr/bin/ssh", "ssh", "git@host")),
			11, RolePackageCode, WhyScript},
		{"no metadata: before the first exec", nil, []Event{ev(KindOpen, 1, 0, "runc:[2:INIT]", "/proc/self/fd")},
			1, RoleRuntime, WhyBefore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Trace{Phases: tt.phases}
			tr.Append("install", tt.events)
			p := BuildTable(tr, testPolicy).Process(ProcKey{TGID: tt.pid, Start: uint64(tt.pid)})
			if p == nil {
				t.Fatalf("no process %d", tt.pid)
			}
			if p.Role != tt.want || p.Why != tt.why {
				t.Errorf("role of %d = %s (%s), want %s (%s)", tt.pid, p.Role, p.Why, tt.want, tt.why)
			}
		})
	}
}

// TestTableIncremental checks that Feed describes each event's moment: an
// event before an exec sees the old image and role.
func TestTableIncremental(t *testing.T) {
	tr := &Trace{}
	tr.Append("install", []Event{
		ev(KindExec, 10, 1, "npm", "/usr/bin/node", "node", "/usr/bin/npm", "install"),
		fork(10, 1, 11, "node"),
		ev(KindOpen, 11, 10, "node", "/home/alex/.npmrc"),
		ev(KindExec, 11, 10, "sh", "/bin/sh", "sh", "-c", "node x.js"),
		ev(KindOpen, 11, 10, "sh", "/home/alex/.npmrc"),
	})
	tb := NewTable(nil, testPolicy)
	var got []string
	for i := range tr.Events {
		p := tb.Feed(&tr.Events[i])
		got = append(got, fmt.Sprintf("%s %s", p.Exe, p.Role))
	}
	want := []string{
		"/usr/bin/node package_manager", "/usr/bin/node package_manager", "/usr/bin/node package_manager",
		"/bin/sh package_code", "/bin/sh package_code",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("per event:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTraceRecordsRoundTrip(t *testing.T) {
	tr := &Trace{Phases: []PhaseInfo{{Name: "install", Init: ProcKey{TGID: 1, Start: 1}, Command: RolePackageManager, Tools: []string{"/usr/bin/ssh"}}}}
	tr.Append("install", []Event{ev(KindExec, 10, 1, "npm", "/usr/bin/npm", "npm", "install")})
	tr.Processes = BuildTable(tr, testPolicy).Processes()
	var buf bytes.Buffer
	if err := Encode(&buf, tr); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 || len(got.Phases) != 1 || !reflect.DeepEqual(got.Phases[0], tr.Phases[0]) {
		t.Fatalf("decoded %d events, phases %v; want 1 event and %v", len(got.Events), got.Phases, tr.Phases)
	}
	if len(got.Processes) != 1 || got.Processes[0].Role != RolePackageManager || !got.Processes[0].Main {
		t.Errorf("decoded processes %+v, want the command as package manager", got.Processes)
	}
}
