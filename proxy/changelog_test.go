package proxy

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/store"
)

// changelog is a stand-in for an index's XML-RPC changelog: entry n
// (from 1) has serial n.
type changelog struct {
	srv     *httptest.Server
	mu      sync.Mutex
	entries [][2]string // name, action
	calls   []string    // method(param)
}

func newChangelog(t *testing.T) *changelog {
	c := &changelog{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var call struct {
			Method string   `xml:"methodName"`
			Params []string `xml:"params>param>value>int"`
		}
		if r.Method != http.MethodPost || xml.NewDecoder(r.Body).Decode(&call) != nil {
			http.Error(w, "bad call", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls = append(c.calls, call.Method+"("+strings.Join(call.Params, ",")+")")
		w.Header().Set("Content-Type", "text/xml")
		switch {
		case call.Method == "changelog_last_serial":
			fmt.Fprintf(w, `<?xml version="1.0"?><methodResponse><params><param><value><int>%d</int></value></param></params></methodResponse>`, len(c.entries))
		case call.Method == "changelog_since_serial" && len(call.Params) == 1:
			var since int
			fmt.Sscan(call.Params[0], &since)
			var b strings.Builder
			for i := since; i < len(c.entries) && i < since+2; i++ { // batches of two
				e := c.entries[i]
				fmt.Fprintf(&b, `<value><array><data><value><string>%s</string></value><value>1.0</value><value><int>1700000000</int></value><value><string>%s</string></value><value><int>%d</int></value></data></array></value>`,
					e[0], e[1], i+1)
			}
			fmt.Fprintf(w, `<?xml version="1.0"?><methodResponse><params><param><value><array><data>%s</data></array></value></param></params></methodResponse>`, b.String())
		default:
			fmt.Fprint(w, `<?xml version="1.0"?><methodResponse><fault><value><struct></struct></value></fault></methodResponse>`)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *changelog) add(name, action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, [2]string{name, action})
}

func (c *changelog) called() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// TestPyPIMonitor follows a stand-in changelog: a changelog never
// followed starts at its last serial; changed projects the filter
// selects are queued at feed priority with the firewall's bytes; the
// serial is kept, and a restart resumes from it.
func TestPyPIMonitor(t *testing.T) {
	h := newPyPIHarness(t, nil)
	feed := newChangelog(t)
	now := time.Now()
	for _, p := range []struct {
		name, version string
		age           time.Duration
	}{{"Watched_Pkg", "1.0", time.Minute}, {"ignored", "1.0", time.Minute}, {"used-pkg", "1.0", 1000 * time.Hour}, {"used-pkg", "2.0", time.Minute}} {
		f, data := wheel(t, p.name, p.version, "")
		h.ix.publish(p.name, &pubFile{name: f, data: data, uploaded: now.Add(-p.age)})
	}
	fw := h.st.(store.Firewall)
	ctx := context.Background()
	run := monitorRunner(t, h.px.Monitor, feed.srv.URL)

	feed.add("watched-pkg", "new release") // before the monitor starts: not its business
	stop := run(MonitorConfig{Follow: FollowWatch, Watch: []string{"watched.pkg"}})
	testenv.WaitFor(t, time.Minute, "the first poll", func() bool { return len(feed.called()) > 1 })
	feed.add("ignored", "new release")
	feed.add("Watched_Pkg", "add py3 file watched_pkg-1.0-py3-none-any.whl")
	feed.add("watched-pkg", "remove release")
	testenv.WaitFor(t, time.Minute, "watched-pkg==1.0 queued", func() bool { return len(feedSubmissions(h.farm)) == 1 })
	testenv.WaitFor(t, time.Minute, "the serial kept", func() bool { seq, _ := fw.FeedSeq(ctx, pypiFeedName); return seq == "4" })
	stop()
	if got := feed.called()[:2]; !slices.Equal(got, []string{"changelog_last_serial()", "changelog_since_serial(1)"}) {
		t.Errorf("first calls = %v, want the last serial, then the changes since it", got)
	}
	if got := feedSubmissions(h.farm); !slices.Equal(got, []string{"pypi:watched-pkg==1.0"}) {
		t.Errorf("feed submissions = %v, want watched-pkg==1.0 alone", got)
	}
	if sub := h.farm.submissions()[0]; !strings.HasPrefix(sub.Fetched, "sha256:") {
		t.Errorf("submission %+v carries no fetched bytes", sub)
	}

	// Its verdict gives the lag from publication to verdict; a restart
	// resumes at the kept serial; "used" follows the projects the
	// firewall served.
	h.farm.judge(t, "watched-pkg", "1.0", analysis.Benign, "")
	if _, err := fw.SeeTarball(ctx, store.Tarball{Ecosystem: "pypi", Name: "used-pkg", Version: "used_pkg-1.0-py3-none-any.whl",
		Digest: sha256Digest([]byte("x")), Integrity: "sha256=x"}); err != nil {
		t.Fatal(err)
	}
	before := len(feed.called())
	stop = run(MonitorConfig{Follow: FollowUsed})
	testenv.WaitFor(t, time.Minute, "the lag observed", func() bool { return lagCount(h.px.metrics) == 1 })
	feed.add("ignored", "new release")
	feed.add("used-pkg", "new release")
	testenv.WaitFor(t, time.Minute, "used-pkg==2.0 queued", func() bool { return len(feedSubmissions(h.farm)) == 2 })
	stop()
	if got := feedSubmissions(h.farm); !slices.Equal(got, []string{"pypi:used-pkg==2.0", "pypi:watched-pkg==1.0"}) {
		t.Errorf("feed submissions = %v", got)
	}
	if got := feed.called()[before]; got != "changelog_since_serial(4)" {
		t.Errorf("first call after the restart = %s, want changelog_since_serial(4)", got)
	}
}
