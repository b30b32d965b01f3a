package api

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

var screenshot = flag.String("screenshot", "", "also save the browser's screenshot of the analysis page to this `file` (the README's image)")

// TestBrowserAnalysisPage loads the analysis page of a real malicious
// corpus sample (the fixture) in headless Chromium and finds the verdict, a
// hit, the process tree and the network summary in the DOM the browser
// built; the browser must report no Content-Security-Policy violation
// (the page's own style sheet loads under the policy). An authenticating
// proxy adds the bearer token, as a gateway in front of the farm would:
// the browser's command line cannot.
func TestBrowserAnalysisPage(t *testing.T) {
	chromium := testenv.Chromium(t)
	h := newHarness(t)
	rec := seedFixture(t, h.st, h.blobs)
	target, _ := url.Parse(h.srv.URL)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	proxy := &httputil.ReverseProxy{Transport: tr, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("Authorization", "Bearer "+h.tokens[store.RoleRead])
	}}
	front := httptest.NewServer(proxy)
	defer front.Close()
	defer h.srv.CloseClientConnections()

	page := front.URL + "/analyses/" + rec.ID
	shot := filepath.Join(t.TempDir(), "page.png")
	dom, logs := runChromium(t, chromium, "--dump-dom", page)
	runChromium(t, chromium, "--screenshot="+shot, "--window-size=1280,3400", page)

	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatalf("parse the DOM: %v", err)
	}
	checks := []struct {
		what string
		find func(*html.Node) bool
	}{
		{"the verdict", func(n *html.Node) bool {
			return within(n, "verdict") && hasClass(n, "verdict") && hasClass(n, "malicious") && text(n) == "malicious"
		}},
		{"a hit with evidence linked to its event", func(n *html.Node) bool {
			return within(n, "hits") && n.Data == "a" && attr(n, "href") == "/analyses/"+rec.ID+"/trace?from=2501#e-2501"
		}},
		{"the process tree: npm, the postinstall's node bundle.js below it", func(n *html.Node) bool {
			return hasClass(n, "proc") && hasClass(n, "package_code") && strings.Contains(text(n), "bundle.js") &&
				ancestor(n, func(a *html.Node) bool { return hasClass(a, "proc") && hasClass(a, "package_manager") })
		}},
		{"the network summary: the webhook the token went to", func(n *html.Node) bool {
			return within(n, "network") && n.Data == "td" && strings.Contains(text(n), "POST http://webhook-site.invalid/")
		}},
		{"the network summary: the DNS query", func(n *html.Node) bool {
			return within(n, "network") && n.Data == "td" && strings.Contains(text(n), "webhook-site.invalid") && strings.Contains(text(n), "dns")
		}},
	}
	for _, c := range checks {
		if find(doc, c.find) == nil {
			t.Errorf("the rendered page lacks %s", c.what)
		}
	}
	if strings.Contains(logs, "Content Security Policy") || strings.Contains(logs, "Refused to") {
		t.Errorf("the browser reported a policy violation:\n%s", logs)
	}
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	if *screenshot != "" {
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runChromium runs headless Chromium on one page and returns its stdout
// and its log.
func runChromium(t *testing.T, chromium string, args ...string) (stdout, logs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

func find(n *html.Node, f func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && f(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, f); m != nil {
			return m
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func ancestor(n *html.Node, f func(*html.Node) bool) bool {
	for a := n.Parent; a != nil; a = a.Parent {
		if a.Type == html.ElementNode && f(a) {
			return true
		}
	}
	return false
}

// within reports whether n is inside the element with id.
func within(n *html.Node, id string) bool {
	return ancestor(n, func(a *html.Node) bool { return attr(a, "id") == id })
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
