package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"

	"github.com/fumehood/fumehood/trace"
)

// Rule data (Falco's model): rule files may define named lists of strings
// and named macros (boolean sub-expressions) besides rules. Expressions use
// them by name; before compiling, a list name is replaced by an array
// literal of its items and a macro name by its parenthesised, expanded
// condition, so the compiled program and the prefilter see plain literals.
// A list item that names a list defined before stands for its items.
// Files are read in order (the builtin files, then each override layer);
// a later definition replaces an earlier one, or extends it with
// "append: true" (a list gets the new items, a macro becomes
// "(old) || (new)").

// listDoc is the YAML form of a list.
type listDoc struct {
	Name   string   `yaml:"name"`
	Items  []string `yaml:"items"`
	Append bool     `yaml:"append"`
}

// macroDoc is the YAML form of a macro.
type macroDoc struct {
	Name      string `yaml:"name"`
	Condition string `yaml:"condition"`
	Append    bool   `yaml:"append"`
}

// ruleData holds the lists and macros of a set, as defined by the files
// read so far.
type ruleData struct {
	lists  map[string][]string
	macros map[string]string
	// file names the file that last defined each list or macro.
	file map[string]string
}

func newRuleData() *ruleData {
	return &ruleData{lists: make(map[string][]string), macros: make(map[string]string), file: make(map[string]string)}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// add records the lists and macros of one file.
func (d *ruleData) add(f string, lists []listDoc, macros []macroDoc) error {
	for _, l := range lists {
		if err := checkName(l.Name, d.macros); err != nil {
			return fmt.Errorf("%s: list %q: %w: %w", f, l.Name, ErrInvalid, err)
		}
		old, ok := d.lists[l.Name]
		if l.Append && !ok {
			return fmt.Errorf("%s: list %q: %w: append to a list not defined before", f, l.Name, ErrInvalid)
		}
		items := d.splice(l.Items)
		if l.Append {
			items = append(slices.Clip(old), items...)
		}
		d.lists[l.Name] = items
		d.file[l.Name] = f
	}
	for _, m := range macros {
		if err := checkName(m.Name, d.lists); err != nil {
			return fmt.Errorf("%s: macro %q: %w: %w", f, m.Name, ErrInvalid, err)
		}
		if strings.TrimSpace(m.Condition) == "" {
			return fmt.Errorf("%s: macro %q: %w: empty condition", f, m.Name, ErrInvalid)
		}
		old, ok := d.macros[m.Name]
		switch {
		case m.Append && !ok:
			return fmt.Errorf("%s: macro %q: %w: append to a macro not defined before", f, m.Name, ErrInvalid)
		case m.Append:
			d.macros[m.Name] = "(" + old + ") || (" + m.Condition + ")"
		default:
			d.macros[m.Name] = m.Condition
		}
		d.file[m.Name] = f
	}
	return nil
}

// splice returns items with every item that names a list defined before
// replaced by that list's items.
func (d *ruleData) splice(items []string) []string {
	var out []string
	for _, it := range items {
		if l, ok := d.lists[it]; ok {
			out = append(out, l...)
		} else {
			out = append(out, it)
		}
	}
	return out
}

// checkName refuses a name that is no identifier, that shadows a field or
// function of Env, or that the other kind of definition (other) uses.
func checkName[V any](name string, other map[string]V) error {
	switch {
	case !identRE.MatchString(name):
		return errors.New("name must be an identifier")
	case taken(name):
		return errors.New("name is a field or function of the expression environment")
	}
	if _, ok := other[name]; ok {
		return errors.New("name is used by both a list and a macro")
	}
	return nil
}

// validate expands every macro and compiles it on its own: a cycle or an
// error in a macro is reported against the file that defined it, used or
// not.
// policy returns the process-role policy the lists define.
func (d *ruleData) policy() (trace.Policy, error) {
	var pol trace.Policy
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"writable_dirs", &pol.Writable}, {"package_manager_executables", &pol.ManagerExecutables}} {
		items, ok := d.lists[l.name]
		if !ok {
			return pol, fmt.Errorf("list %q: %w: required (process roles)", l.name, ErrInvalid)
		}
		for _, it := range items {
			if !strings.HasPrefix(it, "/") {
				return pol, fmt.Errorf("%s: list %q: %w: %q is not an absolute path", d.file[l.name], l.name, ErrInvalid, it)
			}
		}
		*l.dst = items
	}
	return pol, nil
}

func (d *ruleData) validate() error {
	names := make([]string, 0, len(d.macros))
	for n := range d.macros {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		src, err := d.expand(n, []string{n})
		if err == nil {
			_, err = compileBool(src)
		}
		if err != nil {
			return fmt.Errorf("%s: macro %q: %w: %w", d.file[n], n, ErrInvalid, err)
		}
	}
	return nil
}

// ErrMacroCycle is wrapped by the error for a macro that uses itself.
var ErrMacroCycle = errors.New("macro cycle")

// expandSource returns src with every list and macro name replaced by its
// definition: the source the compiler and the prefilter see.
func (d *ruleData) expandSource(src string) (string, error) {
	return d.substitute(src, nil)
}

// expand returns the expanded condition of macro name; stack holds the
// macros being expanded, to find cycles.
func (d *ruleData) expand(name string, stack []string) (string, error) {
	return d.substitute(d.macros[name], stack)
}

func (d *ruleData) substitute(src string, stack []string) (string, error) {
	toks, err := lexer.Lex(file.NewSource(src))
	if err != nil {
		return src, nil // the compiler reports the syntax error
	}
	rs := []rune(src)
	var b strings.Builder
	last := 0
	for i, t := range toks {
		if t.Kind != lexer.Identifier || member(toks, i) {
			continue
		}
		var repl string
		if items, ok := d.lists[t.Value]; ok {
			repl = arrayLiteral(items)
		} else if _, ok := d.macros[t.Value]; ok {
			if slices.Contains(stack, t.Value) {
				return "", fmt.Errorf("%w: %s", ErrMacroCycle, strings.Join(append(stack, t.Value), " -> "))
			}
			x, err := d.expand(t.Value, append(slices.Clip(stack), t.Value))
			if err != nil {
				return "", err
			}
			repl = "(" + x + ")"
		} else {
			continue
		}
		b.WriteString(string(rs[last:t.From]))
		b.WriteString(repl)
		last = t.To
	}
	b.WriteString(string(rs[last:]))
	return b.String(), nil
}

// member reports whether token i is a member name ("x.name", "x?.name")
// rather than a variable.
func member(toks []lexer.Token, i int) bool {
	return i > 0 && toks[i-1].Is(lexer.Operator, ".", "?.")
}

// arrayLiteral renders items as an expr array of string literals.
func arrayLiteral(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// taken reports whether name already means something in an expression:
// a field of Env, a registered function or one of expr's builtins. Lists
// and macros may not shadow them.
func taken(name string) bool {
	_, err := expr.Compile(name, append([]expr.Option{expr.Env(Env{})}, functions...)...)
	return err == nil
}
