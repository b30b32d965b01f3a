package worker

import (
	"bytes"
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/trace"
)

// A token variable a process reads natively (a shell expanding $NPM_TOKEN
// from a script file, awk's ENVIRON, C's getenv) is not recorded (see
// environ.go). After each phase the files it changed are searched, and
// two kinds of file become plant events of their own, known by identity:
//
//   - a file holding a token variable's value, a stealer's stash for a
//     later phase: planted like a credential file (rules: planted), so
//     that reading it later is a credential read;
//   - a program or script that names a token variable (a whole word:
//     $NPM_TOKEN, ENVIRON["NPM_TOKEN"], getenv("NPM_TOKEN")): planted as
//     that variable's marker (rules: planted_env), so that running or
//     loading it counts as reading the variable. These plant events go
//     before the phase's own events, since the phase both wrote and ran
//     the file; documentation (.md, .txt, TypeScript declarations) is
//     left out;
//   - a program or script that lists the whole environment, to pick
//     values by name or shape without naming them (enumerates): a marker
//     of every token variable.

// scanBudget bounds what one phase's search reads: files changed in the
// phase are searched smallest first, so that padding the workspace with
// large files cannot push a small stash or script out of it.
const (
	scanBudget  = 256 << 20
	scanFileMax = 16 << 20
)

// ctimeSlack is how far a file's ctime may lag the clock: the kernel
// stamps it from a coarse clock, a tick or so behind time.Now.
const ctimeSlack = 100 * time.Millisecond

// scanRoot is a workspace directory on the host and where the sandbox
// sees it.
type scanRoot struct{ host, sandbox string }

// scanned is what scanChanged found: plant events of the files that name
// a token variable (readers) and of the files that hold one's value
// (stashes).
type scanned struct {
	readers, stashes []trace.Event
}

// scanChanged searches the files under roots changed since (by their
// ctime, which no process can set) for the token variables of tokens.
func scanChanged(roots []scanRoot, since time.Time, tokens []honeytoken.Token) scanned {
	var vars []honeytoken.Token
	for _, t := range tokens {
		if strings.HasPrefix(t.Where, trace.PlantEnv) && len(t.Value) >= 12 &&
			!slices.ContainsFunc(vars, func(v honeytoken.Token) bool { return v.Where == t.Where }) {
			vars = append(vars, t)
		}
	}
	var out scanned
	if len(vars) == 0 {
		return out
	}
	type candidate struct {
		host, sandbox string
		size          int64
		st            *syscall.Stat_t
	}
	since = since.Add(-ctimeSlack)
	var files []candidate
	for _, r := range roots {
		_ = filepath.WalkDir(r.host, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil // unreadable entries and special files hold nothing to search
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok || info.Size() == 0 || info.Size() > scanFileMax || time.Unix(st.Ctim.Unix()).Before(since) {
				return nil
			}
			rel, err := filepath.Rel(r.host, p)
			if err != nil {
				return nil
			}
			files = append(files, candidate{p, filepath.Join(r.sandbox, rel), info.Size(), st})
			return nil
		})
	}
	slices.SortFunc(files, func(a, b candidate) int { return cmp.Compare(a.size, b.size) })
	read := int64(0)
	for _, f := range files {
		if read += f.size; read > scanBudget {
			break
		}
		data, err := os.ReadFile(f.host)
		if err != nil {
			continue
		}
		doc := documentation(f.sandbox)
		for _, v := range vars {
			name := strings.TrimPrefix(v.Where, trace.PlantEnv)
			if bytes.Contains(data, []byte(v.Value)) {
				out.stashes = append(out.stashes, trace.Event{Time: time.Now(), Kind: trace.KindPlant, Name: v.Name, Path: f.sandbox, Dev: f.st.Dev, Ino: f.st.Ino})
			}
			if !doc && (namesWord(data, name) || enumerates(f.sandbox, data)) {
				out.readers = append(out.readers, trace.Event{Time: time.Now(), Kind: trace.KindPlant, Name: v.Name, Path: v.Where, Path2: f.sandbox, Dev: f.st.Dev, Ino: f.st.Ino})
			}
		}
	}
	return out
}

// Ways a script or program lists the whole environment, by the kind of
// file (sourceKind): a shell's export -p, declare -x and compgen -e, env
// or printenv alone in a pipeline; make's .VARIABLES; perl's keys, values
// or each of %ENV; awk's "in ENVIRON"; Python reaching the C library's
// environ through ctypes, or os.environ's dict underneath it; C that
// walks environ or main's envp; a program built or dropped outside the
// installed packages that imports environ. Naming one variable is
// namesWord's; a shell's set, which configure scripts run to save their
// cache, is left out.
var enumerations = map[string]*regexp.Regexp{
	"shell":  regexp.MustCompile(`(?m)\bexport[ \t]+-p\b|\b(declare|typeset)[ \t]+-[a-zA-Z]*[px][ \t]*($|[|>;&)])|\bcompgen[ \t]+-[a-zA-Z]*e|(^|[ \t;&|]|\$\()(printenv|env)[ \t]*($|\|[^|]|[>;)])`),
	"make":   regexp.MustCompile(`\.VARIABLES\b|\$\(shell[ \t]+(printenv|env|export[ \t]+-p)[ \t]*\)`),
	"perl":   regexp.MustCompile(`\b(keys|values|each)[ \t]*\(?[ \t]*%(main::)?ENV\b`),
	"awk":    regexp.MustCompile(`\bin[ \t]+ENVIRON\b`),
	"python": regexp.MustCompile(`\bctypes\b[\s\S]*['"]_{0,2}environ['"]|['"]_{0,2}environ['"][\s\S]*\bctypes\b|\benvironb?\b[^\n]*\b_data\b`),
	"c":      regexp.MustCompile(`\b(__)?environ\b|\benvp\b`),
	"elf":    regexp.MustCompile(`\x00(__)?environ\x00`),
}

// enumerates reports whether the file at p (as the sandbox sees it)
// holding data lists the whole environment (enumerations).
func enumerates(p string, data []byte) bool {
	re := enumerations[sourceKind(p, data)]
	return re != nil && re.Match(data)
}

// sourceKind tells what reads a file as code, by its name, its #! line or
// its ELF magic: "shell", "make", "perl", "awk", "python", "c", "elf"
// (only outside node_modules and site-packages: a package manager
// extracts shipped programs there, and any program that reads one
// variable may import environ), or "".
func sourceKind(p string, data []byte) string {
	base := filepath.Base(p)
	switch strings.ToLower(filepath.Ext(base)) {
	case ".sh", ".bash", ".zsh", ".ksh", ".command":
		return "shell"
	case ".mk":
		return "make"
	case ".pl", ".pm":
		return "perl"
	case ".awk":
		return "awk"
	case ".py", ".pyw":
		return "python"
	case ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".m", ".mm":
		return "c"
	}
	if slices.Contains([]string{"Makefile", "makefile", "GNUmakefile"}, base) {
		return "make"
	}
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		if strings.Contains(p, "/node_modules/") || strings.Contains(p, "-packages/") {
			return ""
		}
		return "elf"
	}
	if line, _, _ := bytes.Cut(data, []byte("\n")); bytes.HasPrefix(line, []byte("#!")) {
		for _, k := range []struct{ word, kind string }{{"python", "python"}, {"perl", "perl"}, {"awk", "awk"}, {"sh", "shell"}, {"make", "make"}} {
			if bytes.Contains(line, []byte(k.word)) {
				return k.kind
			}
		}
	}
	return ""
}

// documentation reports whether a file is prose or type declarations by
// its name, which name variables without reading them.
func documentation(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, ".d.ts") || slices.Contains([]string{".md", ".markdown", ".txt", ".rst"}, filepath.Ext(lower))
}

// namesWord reports whether data holds word as a whole identifier.
func namesWord(data []byte, word string) bool {
	ident := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for rest, off := data, 0; ; {
		i := bytes.Index(rest, []byte(word))
		if i < 0 {
			return false
		}
		at := off + i
		if (at == 0 || !ident(data[at-1])) && (at+len(word) == len(data) || !ident(data[at+len(word)])) {
			return true
		}
		rest, off = rest[i+1:], at+1
	}
}
