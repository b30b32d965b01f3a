package rules

import (
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// provenance follows files and processes across the trace for the
// behaviour families: which process last wrote each file and whether it
// had connected out before (download then execute), whether package code
// wrote it (a dropped binary), and which parents have a child that
// connected out (the curl of "curl URL | sh" is the shell's sibling).
type provenance struct {
	// net holds the processes that connected to a remote address.
	net map[*trace.Process]bool
	// netChild holds the parents of such processes.
	netChild map[*trace.Process]bool
	// files maps a path to its last writer in this trace.
	files map[string]writer
	// runners are the programs whose first argument is a file they run.
	runners map[string]bool
	// noexec holds, per process, the file of its last exec the kernel
	// refused as no executable format (ENOEXEC), kept while the process
	// runs that file's retry as a shell script.
	noexec map[*trace.Process]string
	// answered bounds the bytes the sinkhole has sent into the sandbox so
	// far (trace.Event.AnswerMax): a file written with more than that is
	// not network data alone.
	answered uint64
	// temps are the temporary directories (the list temp_dirs, without
	// its globs); trees counts, per directory right below one of them
	// (/tmp/X), the distinct files package code wrote under it, counted
	// those in counted.
	temps   []string
	trees   map[string]int
	counted map[string]bool
	// builds holds the processes that ran a file of an unpacked tree
	// (Env.Unpacked): a build's boundary for ancestorConnected.
	builds map[*trace.Process]bool
}

// unpackedFiles is how many distinct files package code must have
// written under a directory right below a temporary directory for it to
// be an unpacked tree: a source archive shipped in the package and
// unpacked there to build holds dozens, a dropped payload is one file or a
// few.
const unpackedFiles = 16

// writer is the process that last wrote a file.
type writer struct {
	proc  *trace.Process
	exe   string
	net   bool   // it had connected out before writing
	pkg   bool   // package code, not a package manager
	bytes uint64 // what it wrote to the file since it first opened it or truncated it
}

func newProvenance(runners map[string]bool, temps []string) *provenance {
	return &provenance{net: make(map[*trace.Process]bool), netChild: make(map[*trace.Process]bool), files: make(map[string]writer),
		runners: runners, noexec: make(map[*trace.Process]string), temps: temps, trees: make(map[string]int), counted: make(map[string]bool),
		builds: make(map[*trace.Process]bool)}
}

// downloaded reports whether w's file holds network data: w connected
// out before writing it and wrote no more than the sinkhole had answered
// (a file the unpacking of a shipped archive wrote after a failed
// download is larger than every answer together).
func (pv *provenance) downloaded(w writer) bool {
	return w.net && w.bytes <= pv.answered
}

// tempTree returns the directory right below a temporary directory that
// f is inside (/tmp/X for /tmp/X/configure and /tmp/X/src/a.c), or "".
func (pv *provenance) tempTree(f string) string {
	for _, t := range pv.temps {
		rest, ok := strings.CutPrefix(f, t+"/")
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i > 0 {
			return f[:len(t)+1+i]
		}
	}
	return ""
}

// observe updates the state with e, caused by p, after the rules saw e.
// env holds e's fields (Target and Modifies resolved).
func (pv *provenance) observe(e *trace.Event, p *trace.Process, env *Env) {
	pv.answered += e.AnswerMax()
	if p == nil {
		return
	}
	if env.Unpacked != "" && !env.Failed {
		pv.builds[p] = true
	}
	switch {
	case e.Kind == trace.KindConnect && e.Remote() && (e.Ret >= 0 || e.Ret == -errEINPROGRESS):
		pv.net[p] = true
		if q := p.ParentProcess(); q != nil {
			pv.netChild[q] = true
		}
	case env.Modifies && !env.Failed && env.Target != "":
		w := writer{proc: p, exe: p.Exe, net: pv.net[p], pkg: env.Package}
		if prev, ok := pv.files[env.Target]; ok && prev.proc == p && !(e.Kind == trace.KindOpen && e.Flags&trace.OTrunc != 0) {
			w.bytes = prev.bytes
		}
		if e.Kind == trace.KindWrite {
			w.bytes += e.Count
		}
		if !w.net && !w.pkg {
			delete(pv.files, env.Target) // such a writer makes a file neither downloaded nor dropped
			break
		}
		if t := pv.tempTree(env.Target); w.pkg && t != "" && !pv.counted[env.Target] {
			pv.counted[env.Target] = true
			pv.trees[t]++
		}
		pv.files[env.Target] = w
	case e.Kind == trace.KindExec && e.Ret == -errENOEXEC:
		pv.noexec[p] = env.Path
	case e.Kind == trace.KindExec && !env.Failed && env.ExecFallback == "":
		delete(pv.noexec, p)
	}
}

// fill sets the provenance fields of env for e, caused by p: before the
// rules see e.
func (pv *provenance) fill(env *Env, e *trace.Event, p *trace.Process) {
	env.Downloaded, env.Dropped, env.DroppedBy, env.ExecFallback, env.Unpacked = "", "", "", "", ""
	env.SiblingConnected = p != nil && p.ParentProcess() != nil && pv.netChild[p.ParentProcess()] && !pv.net[p]
	env.AncestorConnected = pv.ancestorConnected(p)
	if p == nil || len(pv.files) == 0 {
		return
	}
	if e.Kind == trace.KindOpen {
		if f := pv.noexec[p]; f != "" && f == env.Path {
			env.ExecFallback = f
		}
		if w, ok := pv.files[env.Path]; ok && pv.downloaded(w) && !env.Writes {
			env.Downloaded = downloadedDesc(env.Path, w)
		}
		return
	}
	files := pv.execFiles(e, env)
	for _, f := range files {
		if t := pv.tempTree(f); pv.trees[t] >= unpackedFiles {
			env.Unpacked = t
			break
		}
	}
	if len(files) > 1 && !env.Failed && pv.noexec[p] == files[1] {
		env.ExecFallback = files[1]
	}
	for i, f := range files {
		w, ok := pv.files[f]
		if !ok {
			continue
		}
		if pv.downloaded(w) && env.Downloaded == "" {
			env.Downloaded = downloadedDesc(f, w)
		}
		if i == 0 && w.pkg && e.Kind == trace.KindExec {
			env.Dropped, env.DroppedBy = f, w.exe
		}
	}
}

// ancestorConnected reports whether an ancestor of p in package code
// connected out, below the nearest ancestor that ran a file of an
// unpacked tree: a build (./configure feeding sh through a pipe) started
// after a failed download is not fed by that download.
func (pv *provenance) ancestorConnected(p *trace.Process) bool {
	if p == nil || len(pv.net) == 0 {
		return false
	}
	for q := p.ParentProcess(); q != nil && q.Role == trace.RolePackageCode && !pv.builds[q]; q = q.ParentProcess() {
		if pv.net[q] {
			return true
		}
	}
	return false
}

// execFiles returns the files an exec runs (other events: none): its
// program and, when the program is a script runner (a shell, an
// interpreter, the dynamic loader, awk...), its first argument that is not
// an option: the script or program it runs. Later arguments, and every
// argument of other programs (rm, chmod, tar), are data; a wrapper that
// runs its argument (nohup, env, timeout) leads to an exec of that file.
func (pv *provenance) execFiles(e *trace.Event, env *Env) []string {
	if e.Kind != trace.KindExec {
		return nil
	}
	files := []string{env.Path}
	if !pv.runners[base(env.Path)] && !pv.runners[base(env.Binary)] {
		return files
	}
	for _, a := range e.Argv[min(1, len(e.Argv)):] {
		if a != "" && !strings.HasPrefix(a, "-") {
			return append(files, trace.Abs(trace.Abs(a, e.Cwd), env.ProcCwd))
		}
	}
	return files
}

// downloadedDesc describes a file w wrote after it connected out.
func downloadedDesc(f string, w writer) string {
	return f + " (written by " + w.exe + " after it connected out)"
}

// packageDir returns the install directory of the package a path is in:
// for npm, the path down node_modules/NAME (node_modules/@scope/NAME) and
// each node_modules/NAME nested right below it — a package's own files
// that merely spell node_modules further down (a build's dependency files
// under build/Release/.deps/ name absolute paths) stay its own; for
// Python, site-packages/NAME (dist-packages); "" when it is in none.
func packageDir(p string) string {
	const nm = "/node_modules/"
	if i := strings.Index(p, nm); i >= 0 {
		dir := ""
		for rest := p[i:]; strings.HasPrefix(rest, nm); {
			name, ok := moduleName(rest[len(nm):])
			if !ok {
				break
			}
			dir = p[:len(p)-len(rest)] + nm + name
			rest = rest[len(nm)+len(name):]
		}
		return dir
	}
	for _, marker := range []string{"/site-packages/", "/dist-packages/"} {
		if i := strings.LastIndex(p, marker); i >= 0 {
			if name, ok := moduleName(p[i+len(marker):]); ok && !strings.HasPrefix(name, "@") {
				return p[:i+len(marker)] + name
			}
		}
	}
	return ""
}

// moduleName returns the package name rest starts with (NAME, or
// @scope/NAME), false for a dot-directory (.bin, .cache) or nothing.
func moduleName(rest string) (string, bool) {
	n := 1
	if strings.HasPrefix(rest, "@") {
		n = 2
	}
	parts := strings.SplitN(rest, "/", n+1)
	if len(parts) < n || parts[n-1] == "" || strings.HasPrefix(parts[0], ".") {
		return "", false
	}
	return strings.Join(parts[:n], "/"), true
}

// projectDir returns the project a path belongs to: the directory above
// its first node_modules, or "" when it has none.
func projectDir(p string) string {
	if i := strings.Index(p, "/node_modules/"); i >= 0 {
		return p[:i]
	}
	return ""
}
