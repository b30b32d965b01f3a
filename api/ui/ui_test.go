package ui

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVis(t *testing.T) {
	tests := []struct {
		in, want, plain string
	}{
		{"plain text", "plain text", "plain text"},
		{"<b>&\"'", "&lt;b&gt;&amp;&#34;&#39;", "<b>&\"'"},
		{"a\x1b[31mb", `a<span class="ctl">\e</span>[31mb`, `a\e[31mb`},
		{"line\nnext\r", `line<span class="ctl">\n</span>next<span class="ctl">\r</span>`, `line\nnext\r`},
		{"\x00\x7f", `<span class="ctl">\x00</span><span class="ctl">\x7f</span>`, `\x00\x7f`},
		{"bad\xffutf8", `bad<span class="ctl">\xff</span>utf8`, `bad\xffutf8`},
		{"exe.\u202etxt", `exe.<span class="ctl">\u202e</span>txt`, `exe.\u202etxt`},
		{"zero\u200bwidth\ufeff", `zero<span class="ctl">\u200b</span>width<span class="ctl">\ufeff</span>`, `zero\u200bwidth\ufeff`},
		{"c1\u0085", `c1<span class="ctl">\u0085</span>`, `c1\u0085`},
		{"é ü 漢字", "é ü 漢字", "é ü 漢字"},
	}
	for _, tt := range tests {
		if got := string(Vis(tt.in)); got != tt.want {
			t.Errorf("Vis(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Plain(tt.in); got != tt.plain {
			t.Errorf("Plain(%q) = %q, want %q", tt.in, got, tt.plain)
		}
	}
	if got := string(Block("a\n\tb\x1b")); got != "a\n\tb"+`<span class="ctl">\e</span>` {
		t.Errorf("Block keeps newlines and tabs: got %q", got)
	}
}

func TestVisCut(t *testing.T) {
	long := strings.Repeat("x", maxInline-1) + "漢" + strings.Repeat("y", 10)
	got := string(Vis(long))
	if !strings.HasSuffix(got, `<span class="cut">… 13 bytes more</span>`) || strings.Contains(got, `\x`) {
		t.Errorf("Vis of a long string cut inside a character: ...%q", got[len(got)-60:])
	}
}

func FuzzVis(f *testing.F) {
	for _, s := range []string{"", "<script>", "\x1b\u202e\xff", strings.Repeat("漢", 700)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{string(Vis(s)), string(Block(s)), Plain(s)} {
			for _, r := range out {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || invisible(r) || r == '\uFFFD' && !strings.ContainsRune(s, '\uFFFD') {
					t.Fatalf("output of %q holds %U", s, r)
				}
			}
		}
	})
}

func TestPackageURL(t *testing.T) {
	for in, want := range map[string]string{
		"left-pad":     "/packages/npm/left-pad",
		"@scope/pkg":   "/packages/npm/@scope/pkg",
		"a b/../c?d#e": "/packages/npm/a%20b/%2E%2E/c%3Fd%23e",
		"diff":         "/packages/npm/diff",
		"<x>":          "/packages/npm/%3Cx%3E",
	} {
		if got := PackageURL("npm", in); got != want {
			t.Errorf("PackageURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPagesParseAndStatic(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"analyses", "analysis", "trace", "package", "batch", "signin", "error"} {
		if r.pages[p] == nil {
			t.Errorf("page %s missing", p)
		}
	}
	rec := httptest.NewRecorder()
	Static().ServeHTTP(rec, httptest.NewRequest("GET", StaticPrefix+"style.css", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") || rec.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("style.css: %d %q", rec.Code, rec.Header())
	}
}
