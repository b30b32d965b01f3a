package rules

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// Go's regexp has no DFA: a pattern without a literal prefix costs tens
// of nanoseconds a byte, and the rules run theirs on every command line
// and on captured bodies of kilobytes. Most patterns cannot match unless
// the text contains one of a few literals ("_authToken", "npm_", "ghp_",
// ...), and strings.Contains finds those at memory speed. So every
// `x matches "literal pattern"` is compiled into a call of
// matchesLiterals, which runs the regexp only when one of the literals
// the pattern requires is in x. What matches is unchanged: the literals
// are a necessary condition the pattern's syntax tree proves.

// literalRegexp is a regexp with the literals one of which every match
// contains.
type literalRegexp struct {
	re   *regexp.Regexp
	lits []string
}

func (l *literalRegexp) MatchString(s string) bool {
	for _, lit := range l.lits {
		if strings.Contains(s, lit) {
			return l.re.MatchString(s)
		}
	}
	return false
}

// Bounds of the literal sets: a set grows by alternation and by the
// product of adjacent small sets ("gh[pousr]_" is five literals).
const (
	maxLiterals   = 16
	maxClassChars = 8
)

// requiredLiterals returns literals one of which every match of pattern
// contains, or nil when the pattern has no such set (an empty match, a
// case-insensitive literal, a wide character class).
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits := literalsOf(re.Simplify()).best()
	if len(lits) == 0 || slices.Contains(lits, "") {
		return nil
	}
	return minimal(lits)
}

// minimal drops the literals that contain another one: the shorter is
// found wherever the longer is.
func minimal(lits []string) []string {
	slices.SortFunc(lits, func(a, b string) int { return len(a) - len(b) })
	var out []string
	for _, l := range lits {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.Contains(l, o) }) {
			out = append(out, l)
		}
	}
	return out
}

// literalInfo describes the strings a node matches: exact, when not nil,
// is every string it can match; required, when not nil, is a set one of
// which every match contains.
type literalInfo struct {
	exact, required []string
}

// best returns the better of info's sets for filtering: the one whose
// shortest literal is longest.
func (in literalInfo) best() []string {
	if better(in.exact, in.required) {
		return in.exact
	}
	return in.required
}

// better reports whether set a filters better than set b: a is known and
// b is not, or a's shortest literal is longer.
func better(a, b []string) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return shortest(a) > shortest(b) || shortest(a) == shortest(b) && len(a) < len(b)
}

func shortest(set []string) int {
	n := -1
	for _, s := range set {
		if n < 0 || len(s) < n {
			n = len(s)
		}
	}
	return n
}

var emptyOnly = []string{""}

func literalsOf(re *syntax.Regexp) literalInfo {
	switch re.Op {
	case syntax.OpLiteral:
		// The regexp reads an invalid byte as U+FFFD, which Contains
		// would not find.
		if re.Flags&syntax.FoldCase != 0 || slices.Contains(re.Rune, utf8.RuneError) {
			return literalInfo{}
		}
		return literalInfo{exact: []string{string(re.Rune)}}
	case syntax.OpCharClass:
		var chars []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(chars) == maxClassChars || r == utf8.RuneError {
					return literalInfo{}
				}
				chars = append(chars, string(r))
			}
		}
		return literalInfo{exact: chars}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return literalInfo{exact: emptyOnly}
	case syntax.OpCapture:
		return literalsOf(re.Sub[0])
	case syntax.OpPlus:
		return literalInfo{required: literalsOf(re.Sub[0]).best()}
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literalInfo{required: literalsOf(re.Sub[0]).best()}
		}
		return literalInfo{}
	case syntax.OpConcat:
		return concatLiterals(re.Sub)
	case syntax.OpAlternate:
		return alternateLiterals(re.Sub)
	}
	return literalInfo{} // star, quest, any character: nothing required
}

// concatLiterals multiplies the exact sets of adjacent parts while the
// product stays small; the required set is the best of the products and
// of the parts' own required sets.
func concatLiterals(subs []*syntax.Regexp) literalInfo {
	var required []string
	cur := emptyOnly // the product of the exact sets since the last break
	whole := true    // cur is the product of every part
	for _, sub := range subs {
		in := literalsOf(sub)
		if in.exact != nil && cur != nil && len(cur)*len(in.exact) <= maxLiterals {
			cur = product(cur, in.exact)
			continue
		}
		whole = false
		if better(cur, required) {
			required = cur
		}
		if better(in.required, required) {
			required = in.required
		}
		cur = in.exact
	}
	if whole {
		return literalInfo{exact: cur}
	}
	if better(cur, required) {
		required = cur
	}
	return literalInfo{required: required}
}

func product(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// alternateLiterals unions the alternatives' sets: exact when every
// alternative's is and the union is small, required when every
// alternative has a set.
func alternateLiterals(subs []*syntax.Regexp) literalInfo {
	var exact, required []string
	allExact := true
	for _, sub := range subs {
		in := literalsOf(sub)
		if in.exact == nil {
			allExact = false
		} else {
			exact = append(exact, in.exact...)
		}
		set := in.best()
		if set == nil {
			return literalInfo{} // this alternative needs no literal
		}
		required = append(required, set...)
	}
	if allExact && len(exact) <= maxLiterals {
		return literalInfo{exact: exact}
	}
	if len(required) > maxLiterals*2 {
		return literalInfo{}
	}
	return literalInfo{required: required}
}

// literalMatches is the expr patch that compiles each `x matches
// "pattern"` whose pattern requires literals into a matchesLiterals call.
type literalMatches struct{}

func (literalMatches) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "matches" {
		return
	}
	s, ok := b.Right.(*ast.StringNode)
	if !ok {
		return
	}
	re, err := regexp.Compile(s.Value)
	if err != nil {
		return // the compiler reports it
	}
	lits := requiredLiterals(s.Value)
	if lits == nil {
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "matchesLiterals"},
		Arguments: []ast.Node{b.Left, &ast.ConstantNode{Value: &literalRegexp{re: re, lits: lits}}},
	})
}

// matchesLiterals is the function literalMatches calls; a nil or
// non-string left side does not match, as with matches.
func matchesLiterals(p ...any) (any, error) {
	s, ok := p[0].(string)
	return ok && p[1].(*literalRegexp).MatchString(s), nil
}
