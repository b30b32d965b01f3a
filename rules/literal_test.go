package rules

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // nil: no literal is required
	}{
		{`abc`, []string{"abc"}},
		{`^/(tmp|var/tmp)/`, []string{"/tmp/"}}, // "/var/tmp/" contains "/tmp/"
		{`\bgh[pousr]_[A-Za-z0-9]{30,}`, []string{"gho_", "ghp_", "ghr_", "ghs_", "ghu_"}},
		{`(^|[\s&])(PATH|HOME)=/`, []string{"HOME=/", "PATH=/"}},
		{`x+yz`, []string{"yz"}}, // x+ only requires "x"
		{`(ab)+c`, []string{"ab"}},
		{`.*secret.*`, []string{"secret"}},
		{`a{2,}b`, []string{"a"}},
		{`curl|wget`, []string{"curl", "wget"}},
		// The longest of the parts' shortest literals wins.
		{`a.*(alpha|beta)`, []string{"alpha", "beta"}},
		// Nothing required.
		{`a*`, nil},
		{`x?`, nil},
		{`.`, nil},
		{`[a-z]+`, nil},
		{`curl|.`, nil},
		{`(?i)secret`, nil},
		{`(|token)`, nil},
		{`^$`, nil},
		{"\uFFFD", nil}, // the regexp matches an invalid byte with it
		{`(`, nil},      // does not compile: left to the compiler
	}
	for _, tt := range tests {
		got := requiredLiterals(tt.pattern)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// TestMatchesPatched checks that a matches with a literal-requiring
// pattern is compiled to a matchesLiterals call, and one without stays a
// plain match, with the same results either way.
func TestMatchesPatched(t *testing.T) {
	tests := []struct {
		src     string
		patched bool
		cmdline string
		want    bool
	}{
		{"cmdline matches `curl .*\\| *sh`", true, "curl -s x | sh", true},
		{"cmdline matches `curl .*\\| *sh`", true, "wget x | sh", false},
		{"cmdline matches `curl .*\\| *sh`", true, "curl x", false},
		{"!(cmdline matches `^[a-z]+$`)", false, "node", false},
		{"!(cmdline matches `^[a-z]+$`)", false, "node x", true},
		{"any(argv, # matches `^--registry(=|$)`)", true, "npm --registry=x", true},
		{"any(argv, # matches `^--registry(=|$)`)", true, "npm --registries", false},
	}
	for _, tt := range tests {
		p, err := compileBool(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := slices.ContainsFunc(p.Constants, func(c any) bool { _, ok := c.(*literalRegexp); return ok }); got != tt.patched {
			t.Errorf("%s: patched = %v, want %v", tt.src, got, tt.patched)
		}
		env := Env{Cmdline: tt.cmdline, Argv: strings.Fields(tt.cmdline)}
		out, err := vm.Run(p, &env)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if out != tt.want {
			t.Errorf("%s on %q = %v, want %v", tt.src, tt.cmdline, out, tt.want)
		}
	}
}

// FuzzRequiredLiterals checks that the literals are a necessary
// condition: whatever a pattern matches contains one of them.
func FuzzRequiredLiterals(f *testing.F) {
	for _, p := range []string{
		`_authToken|\bnpm_[A-Za-z0-9]{36}\b|\bgh[pousr]_[A-Za-z0-9]{30,}|\bAKIA[0-9A-Z]{16}\b|(^|[\s&])(PATH|HOME)=/`,
		`(curl|wget|fetch)\b[^|;&]*\|\s*(sudo\s+)?(ba|da|z)?sh\b`,
		`(?i)(^|[./@-])(ip-?api|ipinfo)[.-]`,
		`^/proc/(self|[0-9]+)/fd/`,
		`a(b|c)*d{2,3}`,
	} {
		f.Add(p, "x curl -s http://a | sh npm_config_x HOME=/root ghp_"+strings.Repeat("A", 36))
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		lits := requiredLiterals(pattern)
		if lits == nil || !re.MatchString(s) {
			return
		}
		if !slices.ContainsFunc(lits, func(l string) bool { return strings.Contains(s, l) }) {
			t.Errorf("%q matches %q, which contains none of %q", pattern, s, lits)
		}
	})
}
