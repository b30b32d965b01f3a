package rules

import (
	"hash/maphash"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// A prefilter is a necessary condition of one expression that Go checks
// before the expression runs: the conjuncts at the top of the expression's
// "&&" chain that are a boolean field, its negation, a Glob/GlobAny call on
// a string field with literal patterns, a comparison of a string field
// with literals (==, !=, in, startsWith, endsWith, contains), or a "||"
// chain of alternatives each of which has such conjuncts. The expression
// still decides; the prefilter only skips the VM for events it would reject
// anyway, which is most events for most rules. Write rules with such
// conjuncts first to keep them fast.
type prefilter struct {
	// the boolean fields (bits of flagBits) in mask must equal want
	mask, want uint32
	globs      []globCheck
	strings    []stringCheck
	anys       [][]prefilter // each passes when one of its alternatives does
}

// stringCheck is a comparison of a string field with literals: ==, !=,
// in, startsWith, endsWith, contains.
type stringCheck struct {
	get  func(*Env) string
	op   string
	lits []string
}

func (c *stringCheck) pass(s string) bool {
	for _, l := range c.lits {
		var ok bool
		switch c.op {
		case "==", "in":
			ok = s == l
		case "!=":
			ok = s != l
		case "startsWith":
			ok = strings.HasPrefix(s, l)
		case "endsWith":
			ok = strings.HasSuffix(s, l)
		case "contains":
			ok = strings.Contains(s, l)
		}
		if ok {
			return true
		}
	}
	return false
}

type globCheck struct {
	// id numbers the check within its set, for globMemo.
	id       int
	get      func(*Env) string
	patterns []globPattern
	// byBase holds, in a long list, the patterns whose last path element
	// is literal, by that element: only a path with that base name can
	// match them (the element follows the pattern's last "/", which no
	// wildcard matches). patterns holds the rest.
	byBase map[string][]globPattern
}

// minIndexed is the shortest pattern list worth indexing by base name.
const minIndexed = 8

// index moves the patterns of a long list whose last element is literal
// into byBase.
func (g *globCheck) index() {
	if len(g.patterns) < minIndexed {
		return
	}
	var rest []globPattern
	for _, p := range g.patterns {
		last := base(strings.TrimPrefix(p.pattern, "~/"))
		if strings.ContainsAny(last, "*?") {
			rest = append(rest, p)
			continue
		}
		if g.byBase == nil {
			g.byBase = make(map[string][]globPattern)
		}
		g.byBase[last] = append(g.byBase[last], p)
	}
	g.patterns = rest
}

// globPattern is a glob with its literal prefix, suffix and inner literal
// runs taken out, so that most paths are rejected by a few string
// comparisons before the glob itself runs ("**/.cursor/**" has neither
// prefix nor suffix, but every match contains "/.cursor/").
type globPattern struct {
	home           bool // the pattern started with "~/"
	pattern        string
	prefix, suffix string
	inner          []string
}

func newGlobPattern(p string) globPattern {
	g := globPattern{pattern: p}
	rest, home := strings.CutPrefix(p, "~/")
	g.home = home
	i := strings.IndexAny(rest, "*?")
	if i < 0 {
		g.prefix, g.suffix = rest, rest
		return g
	}
	j := strings.LastIndexAny(rest, "*?")
	g.prefix, g.suffix = rest[:i], rest[j+1:]
	for _, lit := range strings.FieldsFunc(rest[i:j+1], func(r rune) bool { return r == '*' || r == '?' }) {
		if len(lit) > 1 {
			g.inner = append(g.inner, lit)
		}
	}
	return g
}

// match reports whether s matches; rel and inHome are homeRel(s).
func (g *globPattern) match(s, rel string, inHome bool) bool {
	if !strings.HasSuffix(s, g.suffix) {
		return false
	}
	if g.home && (!inHome || !strings.HasPrefix(rel, g.prefix)) || !g.home && !strings.HasPrefix(s, g.prefix) {
		return false
	}
	for _, lit := range g.inner {
		if !strings.Contains(s, lit) {
			return false
		}
	}
	return glob(s, g.pattern)
}

// boolFields are the boolean fields a prefilter checks, each a bit of
// flagBits by its index.
var boolFields = []struct {
	name string
	get  func(*Env) bool
}{
	{"package_code", func(e *Env) bool { return e.Package }},
	{"in_install_script", func(e *Env) bool { return e.InInstallScript }},
	{"package_manager", func(e *Env) bool { return e.PackageManager }},
	{"parent_package_manager", func(e *Env) bool { return e.ParentPackageManager }},
	{"writes", func(e *Env) bool { return e.Writes }},
	{"modifies", func(e *Env) bool { return e.Modifies }},
	{"remote", func(e *Env) bool { return e.Remote }},
	{"failed", func(e *Env) bool { return e.Failed }},
	{"exec_mode", func(e *Env) bool { return e.ExecMode }},
	{"main", func(e *Env) bool { return e.Main }},
	{"foreign_proc", func(e *Env) bool { return e.ForeignProc }},
	{"net_stdio", func(e *Env) bool { return e.NetStdio }},
	{"prev_known", func(e *Env) bool { return e.PrevKnown }},
	{"new_install_script", func(e *Env) bool { return e.NewInstallScript }},
}

// flagBit returns the bit of the boolean field name; false when a
// prefilter does not check it.
func flagBit(name string) (uint32, bool) {
	for i, f := range boolFields {
		if f.name == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// flagBits returns env's boolean fields as bits, computed once an event
// for every prefilter to compare with.
func flagBits(env *Env) uint32 {
	var bits uint32
	for i, f := range boolFields {
		if f.get(env) {
			bits |= 1 << i
		}
	}
	return bits
}

var stringFields = map[string]func(*Env) string{
	"path":   func(e *Env) string { return e.Path },
	"path2":  func(e *Env) string { return e.Path2 },
	"target": func(e *Env) string { return e.Target },
	"exe":    func(e *Env) string { return e.Exe },
	"name":   func(e *Env) string { return e.Name },
	"kind":   func(e *Env) string { return e.Kind },
	// what an open reached
	"planted":     func(e *Env) string { return e.Planted },
	"planted_env": func(e *Env) string { return e.PlantedEnv },
	"proc_entry":  func(e *Env) string { return e.ProcEntry },
	// what provenance found an exec runs
	"downloaded":    func(e *Env) string { return e.Downloaded },
	"dropped":       func(e *Env) string { return e.Dropped },
	"exec_fallback": func(e *Env) string { return e.ExecFallback },
	"unpacked":      func(e *Env) string { return e.Unpacked },
}

// newPrefilter derives the prefilter of src, which has compiled already.
// An expression it cannot parse gets an empty prefilter.
func newPrefilter(src string) prefilter {
	var pf prefilter
	tree, err := parser.Parse(src)
	if err != nil {
		return pf
	}
	pf.add(tree.Node)
	return pf
}

// add adds the checks of the "&&" chain at n.
func (pf *prefilter) add(n ast.Node) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			pf.add(n.Left)
			pf.add(n.Right)
		case "||", "or":
			if alts, ok := alternatives(n); ok {
				pf.anys = append(pf.anys, alts)
			}
		default:
			if c, ok := stringCompare(n); ok {
				pf.strings = append(pf.strings, c)
			}
		}
	case *ast.IdentifierNode:
		if bit, ok := flagBit(n.Value); ok {
			pf.mask |= bit
			pf.want |= bit
		}
	case *ast.UnaryNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && (n.Operator == "!" || n.Operator == "not") {
			if bit, ok := flagBit(id.Value); ok {
				pf.mask |= bit // want's bit stays clear (or set by "x && !x", which passes nothing)
			}
		}
	case *ast.CallNode:
		if g, ok := globCall(n); ok {
			pf.globs = append(pf.globs, g)
		}
	}
}

// alternatives returns the prefilters of the alternatives of the "||"
// chain at n; false when one of them has no check (it may pass anything).
func alternatives(n ast.Node) ([]prefilter, bool) {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "||" || b.Operator == "or") {
		left, ok := alternatives(b.Left)
		if !ok {
			return nil, false
		}
		right, ok := alternatives(b.Right)
		return append(left, right...), ok
	}
	var pf prefilter
	pf.add(n)
	if pf.mask == 0 && len(pf.globs)+len(pf.strings)+len(pf.anys) == 0 {
		return nil, false
	}
	return []prefilter{pf}, true
}

func stringCompare(n *ast.BinaryNode) (stringCheck, bool) {
	switch n.Operator {
	case "==", "!=", "in", "startsWith", "endsWith", "contains":
	default:
		return stringCheck{}, false
	}
	field, ok := n.Left.(*ast.IdentifierNode)
	if !ok {
		return stringCheck{}, false
	}
	get, ok := stringFields[field.Value]
	if !ok {
		return stringCheck{}, false
	}
	c := stringCheck{get: get, op: n.Operator}
	switch r := n.Right.(type) {
	case *ast.StringNode:
		if n.Operator == "in" {
			return stringCheck{}, false // substring test on a string
		}
		c.lits = []string{r.Value}
	case *ast.ArrayNode:
		if n.Operator != "in" {
			return stringCheck{}, false
		}
		for _, e := range r.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return stringCheck{}, false
			}
			c.lits = append(c.lits, s.Value)
		}
	default:
		return stringCheck{}, false
	}
	return c, true
}

func globCall(n *ast.CallNode) (globCheck, bool) {
	callee, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || (callee.Value != "Glob" && callee.Value != "GlobAny") || len(n.Arguments) < 2 {
		return globCheck{}, false
	}
	field, ok := n.Arguments[0].(*ast.IdentifierNode)
	if !ok {
		return globCheck{}, false
	}
	get, ok := stringFields[field.Value]
	if !ok {
		return globCheck{}, false
	}
	g := globCheck{get: get}
	args := n.Arguments[1:]
	if arr, ok := args[0].(*ast.ArrayNode); ok && len(args) == 1 {
		args = arr.Nodes // GlobAny(field, list)
	}
	for _, a := range args {
		s, ok := a.(*ast.StringNode)
		if !ok {
			return globCheck{}, false
		}
		g.patterns = append(g.patterns, newGlobPattern(s.Value))
	}
	g.index()
	return g, true
}

// pass reports whether env may satisfy the expression; memo (nil: none)
// remembers the glob checks' results.
func (pf *prefilter) pass(env *Env, bits uint32, memo *globMemo) bool {
	if bits&pf.mask != pf.want {
		return false
	}
	for i := range pf.globs {
		if !memo.any(&pf.globs[i], pf.globs[i].get(env)) {
			return false
		}
	}
	for _, c := range pf.strings {
		if !c.pass(c.get(env)) {
			return false
		}
	}
	for _, alts := range pf.anys {
		if !anyPasses(alts, env, bits, memo) {
			return false
		}
	}
	return true
}

// anyPasses reports whether one of the alternatives alts passes env.
func anyPasses(alts []prefilter, env *Env, bits uint32, memo *globMemo) bool {
	for i := range alts {
		if alts[i].pass(env, bits, memo) {
			return true
		}
	}
	return false
}

func (g *globCheck) any(s string) bool {
	rel, inHome := homeRel(s)
	for i := range g.patterns {
		if g.patterns[i].match(s, rel, inHome) {
			return true
		}
	}
	if g.byBase == nil {
		return false
	}
	same := g.byBase[base(s)]
	for i := range same {
		if same[i].match(s, rel, inHome) {
			return true
		}
	}
	return false
}

// globMemo remembers, per string, the results of the glob checks (by
// globCheck.id, the first 64 of a set) already run on it: a check's
// result depends on the string alone, and paths recur in a trace (a
// compiler opens the same headers for every file it builds, a file is
// written again), each meeting a dozen lists. It is a direct-mapped cache
// of memoSlots strings: a string evicts the one in its slot, so it costs
// one hash an event and allocates nothing.
type globMemo struct {
	seed  maphash.Seed
	slots *[memoSlots]memoSlot
	// the slot of the string looked up last: a prefilter's checks and
	// the next rule's read the same field
	cur *memoSlot
}

type memoSlot struct {
	key            string
	known, matched uint64
}

const memoSlots = 1 << 12

// numberGlobs gives every glob check of the prefilters pfs, and of their
// alternatives, its id, counting from n; it returns the next id.
func numberGlobs(pfs []prefilter, n int) int {
	for i := range pfs {
		for j := range pfs[i].globs {
			pfs[i].globs[j].id = n
			n++
		}
		for _, alts := range pfs[i].anys {
			n = numberGlobs(alts, n)
		}
	}
	return n
}

// any is g.any(s), remembered.
func (gm *globMemo) any(g *globCheck, s string) bool {
	if gm == nil || g.id >= 64 {
		return g.any(s)
	}
	e, bit := gm.slot(s), uint64(1)<<g.id
	if e.known&bit != 0 {
		return e.matched&bit != 0
	}
	matched := g.any(s)
	e.known |= bit
	if matched {
		e.matched |= bit
	}
	return matched
}

// slot returns the slot of s, emptied for it when it held another string.
func (gm *globMemo) slot(s string) *memoSlot {
	if gm.cur != nil && gm.cur.key == s {
		return gm.cur
	}
	if gm.slots == nil {
		gm.seed, gm.slots = maphash.MakeSeed(), new([memoSlots]memoSlot)
	}
	e := &gm.slots[maphash.String(gm.seed, s)%memoSlots]
	if e.key != s {
		*e = memoSlot{key: s}
	}
	gm.cur = e
	return e
}
