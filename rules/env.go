package rules

import (
	"encoding/base64"
	"encoding/hex"
	"github.com/expr-lang/expr"
	"math"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/fumehood/fumehood/trace"
)

// Env is what a rule expression sees (besides the functions of
// functions): one event, flattened, plus the state
// of the process that caused it at that point of the trace. Field names are
// the expr names in the tags. Capture events (dns, http, tls, tcp, udp) carry
// no process, so their process fields are empty.
type Env struct {
	Kind  string `expr:"kind"`
	Phase string `expr:"phase"`
	Comm  string `expr:"comm"`
	Path  string `expr:"path"`  // exec: file executed; file events: path argument
	Path2 string `expr:"path2"` // rename: new path; "" for exec (see binary)
	// Argv is the event's argv for exec and alive events.
	Argv   []string `expr:"argv"`
	Cwd    string   `expr:"cwd"`
	Flags  int      `expr:"flags"`
	Mode   int      `expr:"mode"`
	Ret    int      `expr:"ret"`
	Failed bool     `expr:"failed"` // ret < 0
	// Missing is true for an event that failed because its file does not
	// exist (ENOENT, ENOTDIR): for exec, the misses of a PATH search, as
	// opposed to an attempt on a file that is there but would not run.
	Missing bool `expr:"missing"`
	// Target is the file an event changes: path2 for rename, else path
	// (for link, the new name).
	Target string `expr:"target"`
	// Modifies is true for an open that writes, a write, a rename and a
	// link: every way to put content at Target.
	Modifies bool `expr:"modifies"`
	// ExecMode is true for a chmod that sets any execute bit, and for an
	// open that creates a file with one.
	ExecMode bool   `expr:"exec_mode"`
	Writes   bool   `expr:"writes"` // open for writing, creating, truncating or appending
	Remote   bool   `expr:"remote"` // connect to an inet address that is not loopback
	Family   int    `expr:"family"`
	Addr     string `expr:"addr"`
	Port     int    `expr:"port"`
	Count    int    `expr:"count"` // lost: events dropped; send, write: bytes
	// Arg is setuid's new id, ptrace's request, listen's fd; TargetPID is
	// the target of kill and ptrace; Signal is kill's and exit's signal.
	Arg       int `expr:"arg"`
	TargetPID int `expr:"target_pid"`
	Signal    int `expr:"signal"`

	Name    string `expr:"name"` // dns query, http Host, tls SNI; send: the query name of a DNS payload
	QType   string `expr:"qtype"`
	Method  string `expr:"method"`
	URI     string `expr:"uri"`
	Headers string `expr:"headers"` // http headers joined by "\n"
	Data    string `expr:"data"`    // http body head, tcp/udp payload head

	// Planted is the name of the planted secret (its plant event's Name)
	// whose file a successful open returned, known by the file's identity
	// (device, inode) whatever path was spelled; for a successful unlink or
	// rename, the secret planted at the path it removed or moved away (by
	// path: the probes join names under a directory descriptor to its
	// path); "" for other files and kinds. A file holding several secrets
	// gives the first planted.
	Planted string `expr:"planted"`
	// PlantedEnv is, for a successful open of a token variable's marker,
	// the variable's name: a Node.js process read the variable through
	// process.env (the sandbox's preload opens the marker; see package
	// worker); "*" for the marker of a copy of the whole environment in
	// one go; "" otherwise.
	PlantedEnv string `expr:"planted_env"`
	// PathUnread is true for an open whose path argument the probe could
	// not read; path is then the kernel's path of the file opened.
	PathUnread bool `expr:"path_unread"`
	// ProcEntry is, for an open of a file of a process under /proc, the
	// entry's name as the kernel knows it ("environ", "mem", "maps"),
	// whatever path was spelled; "" otherwise.
	ProcEntry string `expr:"proc_entry"`
	// ForeignProc is true for an open of a /proc/PID file and for a
	// memread (process_vm_readv) whose target process is neither the
	// reader itself nor one of its descendants.
	ForeignProc bool `expr:"foreign_proc"`

	// Binary is, for an exec, the program the kernel loaded: the file
	// executed after symlinks and #! interpreters ("/usr/bin/dash" for a
	// symlink named update-check to /bin/sh); "" for a failed attempt and
	// a trace recorded without it.
	Binary string `expr:"binary"`
	// Stdin, Stdout and Stderr are, for an exec, what descriptors 0, 1
	// and 2 referred to: "closed", "file", "pipe", "char", "unix",
	// "inet", "socket" or "other" (trace.FDType); "" when not recorded.
	Stdin  string `expr:"stdin"`
	Stdout string `expr:"stdout"`
	Stderr string `expr:"stderr"`
	// NetStdio is true for an exec whose stdin or stdout is an inet or
	// inet6 socket: the program reads from or writes to a network peer
	// directly. (node's child stdio are unix socketpairs, not inet.)
	NetStdio bool `expr:"net_stdio"`

	// Sender describes the process behind a capture event ("pid N
	// cmdline"): the last one in the phase that connected or sent to the
	// capture's destination; for a send event the process that sent; ""
	// when none did or for other kinds.
	Sender string `expr:"sender"`
	// SenderPackageManager is true when that process's role is
	// package_manager.
	SenderPackageManager bool `expr:"sender_package_manager"`
	// Honeytoken(parts...) returns "NAME (WHERE) as FORM" for the first
	// secret planted in this trace (its plant events) that one of parts
	// carries, or "". Each part is searched with its decodings (URL and
	// JSON escapes, DNS labels, gzip/zlib/deflate/brotli, base64/base32/hex
	// runs) for every form of each secret (plain, reversed, hex, base64
	// and base64url, base32 and base32hex at any alignment, each also
	// XORed with any one byte; any 12 bytes of it plain). See
	// honeytoken.go; results are memoized per event.
	Honeytoken func(parts ...string) string `expr:"Honeytoken"`
	// HoneytokenJoined() returns the same for what package code sent to
	// this capture's destination, joined over several captures, when this
	// is the last capture to it; else "". See joined.go.
	HoneytokenJoined func() string `expr:"HoneytokenJoined"`
	// Opaque(s) describes the encrypted or random payload s carries
	// (looking through compression and encodings), or returns "". See
	// opaque.go.
	Opaque func(string) string `expr:"Opaque"`

	// Process context, as of this event.
	Exe     string `expr:"exe"`     // the process's current executable
	Cmdline string `expr:"cmdline"` // the process's current argv joined by spaces
	// Proc is the process identity "tgid/start", for grouping.
	Proc string `expr:"proc"`
	// ParentExe and ParentCmdline describe the parent process.
	ParentExe     string `expr:"parent_exe"`
	ParentCmdline string `expr:"parent_cmdline"`
	// Ancestors lists the executables of the observed ancestors, nearest
	// first; Ancestry joins their command lines with " <- ".
	Ancestors []string `expr:"ancestors"`
	Ancestry  string   `expr:"ancestry"`
	// Role is the process's role from the trace's process table:
	// "runtime" (the container's init), "package_manager" (the command
	// the pipeline started for an install and the image helpers it runs
	// itself) or "package_code" (what the package manager starts,
	// anything run from a writable directory, the import phase's
	// command, and all their descendants); "" for events of no process.
	// It comes from provenance: no name, argv or comm can change it.
	Role string `expr:"role"`
	// InInstallScript is true for package code of an install phase: a
	// lifecycle script the package manager started (an npm script's
	// shell, python running setup.py or a PEP 517 hook) or a descendant.
	InInstallScript bool `expr:"in_install_script"`
	// Main is true for the phase's command itself (the process the
	// pipeline started).
	Main bool `expr:"main"`
	// CommandRunning is true for a process that descends from the phase's
	// command (or is it) while that command has not exited: at phase end
	// (an alive event), a process interrupted by the phase's time limit,
	// not one that outlived a finished install.
	CommandRunning bool `expr:"command_running"`
	// PackageManager is true when Role is package_manager: its own reads
	// of ~/.npmrc and its registry traffic are not the package's.
	// ParentPackageManager is the same for the parent: npm's lifecycle
	// shell has one.
	PackageManager       bool `expr:"package_manager"`
	ParentPackageManager bool `expr:"parent_package_manager"`
	// ProcCwd is the working directory of the process's last exec,
	// followed through chdir.
	ProcCwd string `expr:"proc_cwd"`
	// Origin is the working directory the package manager started this
	// process's package code in (trace.Process.Origin): for an npm
	// lifecycle script and its descendants, the package's own directory,
	// wherever they change directory to; "" for other processes.
	Origin string `expr:"origin"`
	// CommandCwd is the working directory of the phase's command (the
	// package manager's, the project being installed into; the importer's
	// in the import phase), "" before it started.
	CommandCwd string `expr:"command_cwd"`
	// Package is true when Role is package_code.
	Package bool `expr:"package_code"`

	// PrevKnown is true when the farm compared this version of the
	// package with an earlier analysed one (trace.Previous), for every
	// event; NewInstallScript is true for an event of a process that ran,
	// or descends from one that ran, an install script new in this
	// version (declared by it and not by that earlier version, or with
	// another command, or other content in the files it runs). Both are false when no earlier version had been
	// analysed.
	PrevKnown        bool `expr:"prev_known"`
	NewInstallScript bool `expr:"new_install_script"`

	// Fields of the behaviour families, file provenance and rule data
	// helpers: envfamilies.go.
	familyEnv
}

// glob reports whether s matches pattern. "*" matches within one path
// element, "**" across elements, "?" one character; a leading "~/" matches
// any home directory (/home/<user>/ or /root/).
func glob(s, pattern string) bool {
	if rest, ok := strings.CutPrefix(pattern, "~/"); ok {
		rel, ok := homeRel(s)
		return ok && globMatch(rest, rel)
	}
	return globMatch(pattern, s)
}

// homeRel returns s relative to the home directory it is in (/root/ or
// /home/USER/), false when it is in none.
func homeRel(s string) (string, bool) {
	if r, ok := strings.CutPrefix(s, "/root/"); ok {
		return r, true
	}
	if r, ok := strings.CutPrefix(s, "/home/"); ok {
		if i := strings.IndexByte(r, '/'); i >= 0 {
			return r[i+1:], true
		}
	}
	return "", false
}

func globMatch(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			if strings.HasPrefix(p, "**") {
				rest := strings.TrimLeft(p, "*")
				for i := 0; i <= len(s); i++ {
					if globMatch(rest, s[i:]) {
						return true
					}
				}
				return false
			}
			rest := p[1:]
			for i := 0; i <= len(s); i++ {
				if globMatch(rest, s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' {
					return false
				}
			}
			return false
		case '?':
			if len(s) == 0 || s[0] == '/' {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// base returns the last element of a slash-separated path.
func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var h float64
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// longestRun returns the length of the longest run of characters of one
// alphabet in s: "base64" (standard and URL-safe), "hex", or "value": an
// encoded value inside a URL, letters, digits and "+_%" (so that "/", ".",
// "-", "?", "&" and "=" end it), counted only when it mixes letters and
// digits — a word, a dashed name or a number is not an encoding, while 24
// characters of base64, hex or percent-encoded ciphertext almost never
// lack either — or, letters alone, when their case carries bits (see
// caseCoded).
func longestRun(s, alphabet string) int {
	in := isB64
	switch alphabet {
	case "hex":
		in = isHex
	case "value":
		return longestValue(s)
	}
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if in(s[i]) {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func longestValue(s string) int {
	best := 0
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '+' || r == '_' || r == '%'))
	}) {
		if len(f) > best && (strings.ContainsAny(f, "0123456789") && strings.ContainsFunc(f, isLetter) || caseCoded(f)) {
			best = len(f)
		}
	}
	return best
}

// caseCoded reports whether f, 24 letters or more, spells bits in their
// case: at least a quarter of them each upper and lower case, and three
// or more runs of two capitals or more. A word, camelCase or PascalCase
// (one capital a word) and an acronym or two are not.
func caseCoded(f string) bool {
	if len(f) < 24 {
		return false
	}
	upper, lower, runs := 0, 0, 0
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c >= 'A' && c <= 'Z':
			upper++
			if i > 0 && f[i-1] >= 'A' && f[i-1] <= 'Z' && (i < 2 || f[i-2] < 'A' || f[i-2] > 'Z') {
				runs++
			}
		case c >= 'a' && c <= 'z':
			lower++
		default:
			return false
		}
	}
	return upper*4 >= len(f) && lower*4 >= len(f) && runs >= 3
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isB64(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '-' || c == '_'
}

// maxDecoded bounds what decoded returns, whatever its input: the work a
// hostile capture can cause stays small.
const maxDecoded = 64 << 10

// minEncoded is the shortest base64 or hex run decoded tries to decode.
const minEncoded = 24

// decoded returns the text hidden in s: every base64 or hex run of at least
// 24 characters is decoded, and the result is decoded again, up to three
// layers deep. The decoded layers are joined by newlines, at most
// maxDecoded bytes; "" when nothing decodes.
func decoded(s string) string {
	var out []string
	total := 0
	layer := []string{s}
	for depth := 0; depth < 3 && len(layer) > 0; depth++ {
		var next []string
		for _, l := range layer {
			for _, run := range encodedRuns(l) {
				for _, d := range decodeRuns(run) {
					if total+len(d)+1 > maxDecoded {
						return strings.Join(out, "\n")
					}
					total += len(d) + 1
					out = append(out, d)
					next = append(next, d)
				}
			}
		}
		layer = next
	}
	return strings.Join(out, "\n")
}

func encodedRuns(s string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isB64(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		end := i
		for end < len(s) && end-i < 2 && s[end] == '=' {
			end++ // padding belongs to the run; any other '=' ends it
		}
		if start >= 0 && end-start >= minEncoded {
			runs = append(runs, s[start:end])
		}
		start = -1
		if end > i {
			i = end - 1 // resume after the padding
		}
	}
	return runs
}

// decodeRuns decodes run as hex, or as base64. A run may start with path
// characters that belong to the base64 alphabet ("/x/" before the payload),
// so the parts after each of its first slashes are tried too, each at the
// four alignments; and it may be cut short at its end (a truncated URL or
// body head). Every candidate that decodes to text is returned.
func decodeRuns(run string) []string {
	if len(run)%2 == 0 && strings.IndexFunc(run, func(r rune) bool { return r > 0x7f || !isHex(byte(r)) }) < 0 {
		if b, err := hex.DecodeString(run); err == nil && printable(b) {
			return []string{string(b)}
		}
	}
	trimmed := strings.TrimRight(run, "=")
	candidates := []string{trimmed}
	for i, n := 0, 0; i < len(trimmed) && n < 8; i++ {
		if trimmed[i] == '/' && len(trimmed)-i-1 >= minEncoded {
			candidates = append(candidates, trimmed[i+1:])
			n++
		}
	}
	var out []string
	for _, c := range candidates {
		for start := 0; start < 4 && len(c)-start >= minEncoded; start++ {
			if d, ok := decodeBase64(c[start:]); ok {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func decodeBase64(s string) (string, bool) {
	if len(s)%4 == 1 {
		s = s[:len(s)-1] // no valid quantum ends with one character
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && printable(b) {
			return string(b), true
		}
	}
	return "", false
}

// printable reports whether b looks like text: valid UTF-8 with at most
// 5% control bytes.
func printable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
		}
	}
	return bad*20 <= len(b)
}

// isIP reports whether s is an IP address literal, with or without a
// port (an HTTP Host may carry one).
func isIP(s string) bool {
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// domain returns the last two labels of a host name ("a.b.example.org" →
// "example.org"): an approximation of the registrable domain that needs no
// suffix list.
func domain(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name
	}
	if j := strings.LastIndexByte(name[:i], '.'); j >= 0 {
		return name[j+1:]
	}
	return name
}

// longestLabel returns the length of the longest label of a host name.
func longestLabel(name string) int {
	best := 0
	for l := range strings.SplitSeq(name, ".") {
		best = max(best, len(l))
	}
	return best
}

// fill sets the event fields of env from e; process fields are set by the
// caller.
func (env *Env) fill(e *trace.Event) {
	env.Kind = string(e.Kind)
	env.Phase = e.Phase
	env.Comm = e.Comm
	env.Path, env.Path2 = trace.Abs(e.Path, e.Cwd), trace.Abs(e.Path2, e.Cwd)
	env.Argv = e.Argv
	env.Cwd = e.Cwd
	env.Flags, env.Mode, env.Ret = int(e.Flags), int(e.Mode), int(e.Ret)
	env.Failed = e.Ret < 0
	env.Missing = e.Missing()
	env.ExecMode = (e.Kind == trace.KindChmod || e.Kind == trace.KindOpen && e.Flags&trace.OCreat != 0) && e.Mode&0o111 != 0
	env.Writes = e.Writes()
	env.Remote = e.Remote()
	env.Target = env.Path
	if e.Kind == trace.KindRename {
		env.Target = env.Path2
	}
	env.Modifies = env.Writes || e.Kind == trace.KindRename || e.Kind == trace.KindWrite || e.Kind == trace.KindLink
	env.fillExec(e)
	env.PathUnread, env.ProcEntry = e.PathUnread, ""
	if e.Kind == trace.KindOpen && e.TargetPID != 0 {
		env.ProcEntry, env.Path2 = e.Path2, "" // an entry's name, not a path
	}
	env.Family, env.Addr, env.Port = int(e.Family), e.Addr, int(e.Port)
	env.Count = int(e.Count)
	env.Arg, env.TargetPID, env.Signal = int(e.Arg), int(e.TargetPID), int(e.Signal)
	env.Name, env.QType, env.Method, env.URI = e.Name, e.QType, e.Method, e.URI
	if e.Kind == trace.KindSend && len(e.Data) > 0 {
		// a DNS query sent over UDP (seen also when no sinkhole answers)
		if n, ok := dnsWireName(string(e.Data)); ok {
			env.Name = n
		}
	}
	env.Headers, env.Data = "", ""
	if len(e.Headers) > 0 {
		env.Headers = strings.Join(e.Headers, "\n")
	}
	if len(e.Data) > 0 {
		env.Data = string(e.Data)
	}
}

// fillExec sets the fields only exec events have: the program loaded (the
// event's Path2, so path2 is cleared) and the standard descriptors.
func (env *Env) fillExec(e *trace.Event) {
	env.Binary = ""
	if e.Kind == trace.KindExec {
		env.Binary, env.Path2 = env.Path2, ""
	}
	in, out := e.Stdio.FD(0), e.Stdio.FD(1)
	env.Stdin, env.Stdout, env.Stderr = in.String(), out.String(), e.Stdio.FD(2).String()
	env.NetStdio = in == trace.FDInet || out == trace.FDInet
}

// functions are the helpers rule expressions call, registered with
// expr.Function so that calls need no reflection.
var functions = []expr.Option{
	expr.Function("Glob", func(p ...any) (any, error) { return glob(p[0].(string), p[1].(string)), nil },
		new(func(s, pattern string) bool)),
	// GlobAny takes its patterns as arguments or as one array (a list).
	expr.Function("GlobAny", func(p ...any) (any, error) {
		s, pats := p[0].(string), p[1:]
		if len(p) == 2 {
			if arr, ok := p[1].([]any); ok {
				pats = arr
			}
		}
		for _, pat := range pats {
			if ps, ok := pat.(string); ok && glob(s, ps) {
				return true, nil
			}
		}
		return false, nil
	}, new(func(s string, patterns ...string) bool), new(func(s string, patterns []any) bool)),
	expr.Function("Base", func(p ...any) (any, error) { return base(p[0].(string)), nil }, new(func(string) string)),
	expr.Function("Entropy", func(p ...any) (any, error) { return entropy(p[0].(string)), nil }, new(func(string) float64)),
	expr.Function("LongestRun", func(p ...any) (any, error) { return longestRun(p[0].(string), p[1].(string)), nil },
		new(func(s, alphabet string) int)),
	expr.Function("Decoded", func(p ...any) (any, error) { return decoded(p[0].(string)), nil }, new(func(string) string)),
	expr.Function("IsIP", func(p ...any) (any, error) { return isIP(p[0].(string)), nil }, new(func(string) bool)),
	expr.Function("Domain", func(p ...any) (any, error) { return domain(p[0].(string)), nil }, new(func(string) string)),
	expr.Function("LongestLabel", func(p ...any) (any, error) { return longestLabel(p[0].(string)), nil },
		new(func(string) int)),
	// matches with a pattern that requires literals becomes a call of
	// matchesLiterals (literal.go)
	expr.Function("matchesLiterals", matchesLiterals, new(func(string, *literalRegexp) bool)),
}
