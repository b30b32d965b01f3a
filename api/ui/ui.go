// Package ui renders fumehood's analyst pages: html/template pages and a
// style sheet, embedded in the binary (no JavaScript, no build step). It
// knows how to show things, not where they come from: package api runs
// the same queries for a page as for its JSON and hands the result to
// Render.
//
// Everything a page shows of a package is hostile: names, paths, argv,
// captured bodies carry markup and control characters. html/template
// escapes markup in every context; Vis and Block also make control
// characters, invalid UTF-8 and the invisible characters that reorder or
// hide text (bidirectional overrides, zero-width spaces) visible as
// escapes, so that what is read is what the package did. Pages are served
// with a Content-Security-Policy that allows no script at all, styles
// and images from the server only, forms to the server only, and no
// framing.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every page.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// StaticPrefix is the path the static files are served under.
const StaticPrefix = "/ui/static/"

// Page is what every template gets: the page's title, who is signed in
// and the page's own data.
type Page struct {
	Title string
	// Role is the signed-in token's role; Session is set when it came
	// from the session cookie (the page then offers to sign out).
	Role    string
	Session bool
	// Firewall is set when the farm serves a registry firewall: the
	// navigation leads to its page.
	Firewall bool
	Data     any
}

// Renderer holds the parsed pages.
type Renderer struct {
	pages map[string]*template.Template
}

// New parses the embedded templates: layout.html around each other file.
func New() (*Renderer, error) {
	names, err := fs.Glob(templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templates, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("ui: %w", err)
		}
		r.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return r, nil
}

// SetHeaders sets the security headers of a page answer.
func SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// Render writes page (a file of templates/ without .html) with status.
// The page is rendered whole before anything is written, so that a
// template error is a 500, not half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, page string, p Page) error {
	t := r.pages[page]
	if t == nil {
		return fmt.Errorf("ui: no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return fmt.Errorf("ui: render %s: %w", page, err)
	}
	SetHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Static serves the embedded style sheet and images under StaticPrefix.
func Static() http.Handler {
	sub, _ := fs.Sub(static, "static")
	files := http.StripPrefix(StaticPrefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"vis":    Vis,
	"visn":   func(n int, s string) template.HTML { return vis(s, n, false) },
	"pre":    Block,
	"plain":  Plain,
	"argv":   Argv,
	"pkgURL": PackageURL,
	"esc":    url.PathEscape,
	"query":  url.QueryEscape,
	"ms":     millis,
	"since":  func(d time.Duration) string { return millis(d.Milliseconds()) },
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"join":   strings.Join,
	"add":    func(a, b int) int { return a + b },
	"split":  strings.Fields,
	"int":    func(v int32) int { return int(v) },
	"exit":   exitStatus,
	"dict":   dict,
	"get":    get,
}

// exitStatus renders how a process ended: "signal N" or "exit N".
func exitStatus(code, signal int) string {
	if signal != 0 {
		return fmt.Sprintf("signal %d", signal)
	}
	return fmt.Sprintf("exit %d", code)
}

// dict makes a map of key, value pairs: the data of a nested template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// get returns m[k] of a map whose keys are a string type, or the zero
// value.
func get(m any, k string) (any, error) {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("get: %T is not a map with string keys", m)
	}
	e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
	if !e.IsValid() {
		return reflect.Zero(v.Type().Elem()).Interface(), nil
	}
	return e.Interface(), nil
}

// Bounds of what one field shows.
const (
	maxInline = 2000
	maxBlock  = 64 << 10
)

// Vis renders s as escaped HTML on one line: control characters
// (newlines included), invalid UTF-8 and invisible reordering or
// zero-width characters appear as escapes in a <span class="ctl">, and
// text beyond 2000 bytes is cut with a note of how much.
func Vis(s string) template.HTML { return vis(s, maxInline, false) }

// Block renders s like Vis for a <pre> block: newlines and tabs stay,
// up to 64 KiB.
func Block(s string) template.HTML { return vis(s, maxBlock, true) }

// Plain is Vis for the places that take no markup (the page title,
// attribute values): the escapes are plain text.
func Plain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			b.WriteString(controlEscape(r))
		case r >= 0x80 && r < 0xa0, invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Argv renders an argument vector: each argument with Vis, in a <span
// class="arg">, so that argument boundaries stay visible.
func Argv(argv []string) template.HTML {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`<span class="arg">`)
		b.WriteString(string(Vis(a)))
		b.WriteString(`</span>`)
	}
	return template.HTML(b.String())
}

func vis(s string, limit int, block bool) template.HTML {
	var b strings.Builder
	cut := 0
	if len(s) > limit {
		end := limit
		// Do not cut a character in half (it would show as bytes).
		for j := end; j > 0 && j > end-utf8.UTFMax; j-- {
			if utf8.RuneStart(s[j-1]) {
				if !utf8.FullRuneInString(s[j-1 : end]) {
					end = j - 1
				}
				break
			}
		}
		cut = len(s) - end
		s = s[:end]
	}
	plain := 0 // start of the run of ordinary text not yet written
	flush := func(end int) {
		b.WriteString(template.HTMLEscapeString(s[plain:end]))
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		esc := ""
		switch {
		case r == utf8.RuneError && size <= 1:
			esc = fmt.Sprintf(`\x%02x`, s[i])
		case block && (r == '\n' || r == '\t'):
		case r < 0x20 || r == 0x7f:
			esc = controlEscape(r)
		case r >= 0x80 && r < 0xa0, invisible(r):
			esc = fmt.Sprintf(`\u%04x`, r)
		}
		if esc != "" {
			flush(i)
			b.WriteString(`<span class="ctl">`)
			b.WriteString(esc)
			b.WriteString(`</span>`)
			plain = i + size
		}
		i += size
	}
	flush(len(s))
	if cut > 0 {
		fmt.Fprintf(&b, `<span class="cut">… %d bytes more</span>`, cut)
	}
	return template.HTML(b.String())
}

func controlEscape(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case 0x1b:
		return `\e`
	}
	return fmt.Sprintf(`\x%02x`, r)
}

// invisible reports characters that change how text around them reads
// without showing: bidirectional controls, zero-width characters, the
// byte order mark, the soft hyphen, tag characters.
func invisible(r rune) bool {
	switch {
	case r == 0xad, r == 0x34f, r == 0x61c, r == 0x180e:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x206f:
		return true
	case r == 0xfeff, r >= 0xfff9 && r <= 0xfffb, r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

// PackageURL is the page of a package: /packages/ECO/NAME, each segment
// of a scoped name escaped on its own (dot segments too).
func PackageURL(eco, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		if s == "." || s == ".." {
			segs[i] = strings.Repeat("%2E", len(s)) // a browser would resolve them
			continue
		}
		segs[i] = url.PathEscape(s)
	}
	return "/packages/" + url.PathEscape(eco) + "/" + strings.Join(segs, "/")
}

func millis(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}
