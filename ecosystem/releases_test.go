package ecosystem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// releases formats rs as "VERSION@TIME" ("-" for no time), "*" marking
// the latest.
func releases(rs []Release) string {
	var b strings.Builder
	for _, r := range rs {
		t := "-"
		if !r.Published.IsZero() {
			t = r.Published.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(&b, "%s@%s", r.Version, t)
		if r.Latest {
			b.WriteString("*")
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

func TestReleasesNPM(t *testing.T) {
	reg := newNPMRegistry(t)
	reg.docs["watched"] = `{"name":"watched","dist-tags":{"latest":"1.1.0","next":"2.0.0-beta.1"},
		"versions":{"1.0.0":{},"1.1.0":{},"2.0.0-beta.1":{},"0.0.1-undated":{}},
		"time":{"created":"2019-01-01T00:00:00Z","modified":"2026-11-02T00:00:00Z",
			"1.0.0":"2019-01-01T00:00:00.000Z","1.1.0":"2026-11-01T10:00:00.000Z","2.0.0-beta.1":"2026-11-02T00:00:00Z",
			"0.9.0":"2018-01-01T00:00:00Z"}}`
	reg.docs["@scope%2fpkg"] = `{"dist-tags":{"latest":"3.0.0"},"versions":{"3.0.0":{}},"time":{"3.0.0":"2026-10-01T00:00:00Z"}}`
	reg.docs["garbled"] = `{"versions":[`
	cfg := Config{NPMRegistry: reg.srv.URL + "/"}
	tests := []struct {
		name, want string
		err        error
	}{
		// 0.9.0 was unpublished: dated, but not a version any more.
		{name: "watched", want: "0.0.1-undated@- 1.0.0@2019-01-01 1.1.0@2026-11-01* 2.0.0-beta.1@2026-11-02"},
		{name: "@scope/pkg", want: "3.0.0@2026-10-01*"},
		{name: "no-such-pkg", err: ErrNotFound},
		{name: "garbled", err: ErrBadArtifact},
		{name: "Bad Name", err: ErrBadSpec},
	}
	for _, tt := range tests {
		rs, err := Releases(context.Background(), cfg, NPM, tt.name)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Releases(%s) = %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || releases(rs) != tt.want {
			t.Errorf("Releases(%s) = %q, %v; want %q", tt.name, releases(rs), err, tt.want)
		}
	}
}

func TestReleasesPyPI(t *testing.T) {
	for _, html := range []bool{false, true} {
		ix := newPyPIIndex(t, html)
		add := func(fn, uploaded string) {
			ix.add("demo-dist", fn, nil)
			ix.uploaded[fn] = uploaded
		}
		add("demo_dist-1.0.tar.gz", "2020-01-01T00:00:00Z")
		add("demo_dist-1.0-py3-none-any.whl", "2019-12-31T00:00:00Z")
		add("demo_dist-1.1.tar.gz", "2026-11-01T00:00:00.123456Z")
		add("demo_dist-2.0rc1.tar.gz", "2026-11-02T00:00:00Z")
		add("other-9.0.tar.gz", "2026-11-03T00:00:00Z")
		add("demo_dist-0.1.egg", "2010-01-01T00:00:00Z")
		want := "1.0@2019-12-31 1.1@2026-11-01* 2.0rc1@2026-11-02"
		if html { // no upload times in PEP 503 pages
			want = "1.0@- 1.1@-* 2.0rc1@-"
		}
		rs, err := Releases(context.Background(), Config{PyPIIndex: ix.srv.URL + "/simple/"}, PyPI, "Demo_Dist")
		if err != nil || releases(rs) != want {
			t.Errorf("html=%v: Releases = %q, %v; want %q", html, releases(rs), err, want)
		}
		if _, err := Releases(context.Background(), Config{PyPIIndex: ix.srv.URL + "/simple/"}, PyPI, "no-such"); !errors.Is(err, ErrNotFound) {
			t.Errorf("html=%v: Releases of an unknown project = %v, want ErrNotFound", html, err)
		}
	}
	if _, err := Releases(context.Background(), Config{}, "cargo", "serde"); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Releases of cargo = %v, want ErrBadSpec", err)
	}
}
