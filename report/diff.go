package report

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

// Behaviour is an analysis reduced to sets of normalised facts, each a
// line a person reads: what Diff compares.
type Behaviour struct {
	Hits      []string                  // rule ids
	Processes []string                  // "PHASE ROLE EXE ARGV", package code and the package manager's helpers
	Network   []string                  // "PHASE dns A NAME", "PHASE http METHOD HOST PATH", "PHASE connect ADDR:PORT", ...
	Files     []string                  // "PHASE OPS PATH", as the report lists them
	Scripts   map[string]DeclaredScript // "PHASE NAME" of each declared script
}

// DeclaredScript is an install script as Diff compares it: its normalised
// command and the files it names with their digests (analysis.ScriptRun;
// FilesDigest "" when they were not recorded).
type DeclaredScript struct {
	Command     string
	Files       map[string]string
	FilesDigest string
}

// Summarise reduces analysis a, with the report r of its trace tr, to its
// behaviour.
func Summarise(a *analysis.Analysis, tr *trace.Trace, r *Report) Behaviour {
	n := newNormaliser(a, tr)
	var b Behaviour
	for _, h := range a.Hits {
		b.Hits = append(b.Hits, h.Rule)
	}
	for _, ph := range r.Phases {
		walk(ph.Roots, func(p *Process) bool {
			if p.Role == trace.RolePackageCode || p.Role == trace.RolePackageManager && p.Why == trace.WhyHelper {
				b.Processes = append(b.Processes, n.norm(ph.Name+" "+string(p.Role)+" "+p.Exe+" "+strings.Join(p.Argv, " ")))
			}
			for _, x := range p.Network {
				b.Network = append(b.Network, n.norm(ph.Name+" "+netFact(x)))
			}
			for _, f := range p.Files {
				b.Files = append(b.Files, n.norm(ph.Name+" "+strings.Join(f.Ops, ",")+" "+f.Path))
			}
			return true
		})
		for _, x := range ph.Unattributed {
			b.Network = append(b.Network, n.norm(ph.Name+" "+netFact(x)))
		}
	}
	b.Scripts = scripts(a, n)
	return b
}

// scripts returns the normalised command and the files of each script a
// declares, by "PHASE NAME".
func scripts(a *analysis.Analysis, n *normaliser) map[string]DeclaredScript {
	m := map[string]DeclaredScript{}
	for _, s := range a.Coverage.Scripts {
		m[s.Phase+" "+s.Name] = DeclaredScript{Command: n.norm(s.Command), Files: s.Files, FilesDigest: s.FilesDigest}
	}
	return m
}

// NewScripts names the scripts ("PHASE NAME") that analysis to, with its
// trace toTr, declares and analysis from did not, or declared with another
// command or other content in the files it runs: Diff's Scripts.Added and
// Changed, compared the same way. It needs no report, so a trace can be
// compared before it is judged.
func NewScripts(from *analysis.Analysis, fromTr *trace.Trace, to *analysis.Analysis, toTr *trace.Trace) []string {
	d := diffScripts(scripts(from, newNormaliser(from, fromTr)), scripts(to, newNormaliser(to, toTr)))
	return slices.Sorted(slices.Values(append(d.added, d.changed...)))
}

// scriptDiff is how the declared scripts of two analyses differ, by name,
// each list sorted.
type scriptDiff struct {
	// added: scripts of to that from lacks; removed: the reverse.
	added, removed []string
	// changed: scripts both declare whose command differs, or whose
	// files' digests differ when both are known.
	changed []string
	// uncompared: scripts with the same command whose files are unknown
	// in one of the two (recorded before digests were kept): they may or
	// may not differ, and are not claimed changed.
	uncompared []string
}

func diffScripts(from, to map[string]DeclaredScript) scriptDiff {
	var d scriptDiff
	for _, name := range slices.Sorted(maps.Keys(to)) {
		old, ok := from[name]
		switch {
		case !ok:
			d.added = append(d.added, name)
		case old.Command != to[name].Command || filesChanged(old, to[name]):
			d.changed = append(d.changed, name)
		case old.FilesDigest == "" || to[name].FilesDigest == "":
			d.uncompared = append(d.uncompared, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(from)) {
		if _, ok := to[name]; !ok {
			d.removed = append(d.removed, name)
		}
	}
	return d
}

// filesChanged reports whether the files of two scripts are known and
// differ.
func filesChanged(a, b DeclaredScript) bool {
	return a.FilesDigest != "" && b.FilesDigest != "" && a.FilesDigest != b.FilesDigest
}

// changedFiles names the files of two scripts that one has and the other
// not, or that differ, sorted.
func changedFiles(a, b DeclaredScript) []string {
	var out []string
	for p, d := range a.Files {
		if b.Files[p] != d {
			out = append(out, p)
		}
	}
	for p := range b.Files {
		if _, ok := a.Files[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// netFact is the normalisable fact of a network item: what was asked of
// whom, not when or from which port.
func netFact(x Net) string {
	switch x.Kind {
	case trace.KindDNS:
		return "dns " + x.QType + " " + strings.ToLower(x.Name)
	case trace.KindHTTP:
		path, _, _ := strings.Cut(x.URI, "?")
		return "http " + x.Method + " " + strings.ToLower(x.Name) + path
	case trace.KindTLS:
		return "tls " + strings.ToLower(x.Name)
	case trace.KindSend:
		return "send " + x.Addr + ":" + strconv.Itoa(int(x.Port))
	}
	return string(x.Kind) + " " + x.Addr + ":" + strconv.Itoa(int(x.Port))
}

// normaliser replaces what differs between runs of one behaviour.
type normaliser struct {
	literal *strings.Replacer
}

// Patterns of names a run makes up.
var (
	uuidRE   = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	stampRE  = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}[_:]\d{2}[_:]\d{2}(?:[_.:]\d+)?Z?`)
	hexRE    = regexp.MustCompile(`(?i)\b[0-9a-f]{8,}\b`)
	digitsRE = regexp.MustCompile(`\d{6,}`)
	// npm's and mktemp's temporary names in a temporary directory: a
	// short random part after a known prefix, or letters and digits
	// mixed (see random).
	tmpRE = regexp.MustCompile(`(/(?:tmp|_cacache/tmp)/)((?:npm-\d+-|tmp\.|tmp-)?)([A-Za-z0-9]{6,12})\b`)
)

func newNormaliser(a *analysis.Analysis, tr *trace.Trace) *normaliser {
	var pairs []string
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Kind == trace.KindPlant && len(e.Data) >= 6 {
			pairs = append(pairs, string(e.Data), "<planted>")
		}
	}
	if v := a.Package.Version; len(v) >= 2 {
		pairs = append(pairs, v, "<version>")
	}
	return &normaliser{literal: strings.NewReplacer(pairs...)}
}

func (n *normaliser) norm(s string) string {
	s = n.literal.Replace(s)
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	s = stampRE.ReplaceAllString(s, "<time>")
	s = hexRE.ReplaceAllString(s, "<hex>")
	s = digitsRE.ReplaceAllString(s, "<n>")
	return tmpRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := tmpRE.FindStringSubmatch(m)
		if sm[2] == "" && !random(sm[3]) {
			return m
		}
		return sm[1] + "<random>"
	})
}

// random reports whether a name mixes letters and digits, as made-up
// names do and chosen ones ("payload", "miner") seldom do.
func random(name string) bool {
	return strings.ContainsAny(name, "0123456789") && strings.IndexFunc(name, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}) >= 0
}

// Diff compares the behaviour of analysis from with that of to.
func Diff(fromID string, from Behaviour, toID string, to Behaviour) analysis.Changes {
	c := analysis.Changes{From: fromID, To: toID,
		Hits: change(from.Hits, to.Hits), Processes: change(from.Processes, to.Processes),
		Network: change(from.Network, to.Network), Files: change(from.Files, to.Files),
		Scripts: analysis.ScriptChanges{Added: []string{}, Removed: []string{}, Changed: []string{}, Uncompared: []string{}}}
	d := diffScripts(from.Scripts, to.Scripts)
	for _, name := range d.added {
		c.Scripts.Added = append(c.Scripts.Added, name+": "+to.Scripts[name].Command)
	}
	for _, name := range d.changed {
		f, t := from.Scripts[name], to.Scripts[name]
		line := name + ": " + f.Command
		if f.Command != t.Command {
			line += " -> " + t.Command
		}
		if filesChanged(f, t) {
			line += " (files changed: " + strings.Join(changedFiles(f, t), ", ") + ")"
		}
		c.Scripts.Changed = append(c.Scripts.Changed, line)
	}
	for _, name := range d.uncompared {
		lacks := fromID
		if from.Scripts[name].FilesDigest != "" {
			lacks = toID
		}
		c.Scripts.Uncompared = append(c.Scripts.Uncompared, name+": "+to.Scripts[name].Command+" (files not compared: analysis "+lacks+" did not record them)")
	}
	for _, name := range d.removed {
		c.Scripts.Removed = append(c.Scripts.Removed, name+": "+from.Scripts[name].Command)
	}
	return c
}

// change returns the members of to not in from (added) and of from not
// in to (removed), each sorted and once.
func change(from, to []string) analysis.Change {
	set := func(xs []string) map[string]bool {
		m := make(map[string]bool, len(xs))
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	f, t := set(from), set(to)
	c := analysis.Change{Added: []string{}, Removed: []string{}}
	for x := range t {
		if !f[x] {
			c.Added = append(c.Added, x)
		}
	}
	for x := range f {
		if !t[x] {
			c.Removed = append(c.Removed, x)
		}
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	return c
}
