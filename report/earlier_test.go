package report

import (
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/store"
)

func TestEarlier(t *testing.T) {
	rec := func(id, v string, st store.Status) *store.Record {
		return &store.Record{Analysis: analysis.Analysis{ID: id, Package: analysis.Package{Ecosystem: "npm", Name: "x", Version: v}},
			Status: st, TraceDigest: "sha256:t"}
	}
	noTrace := rec("no-trace", "1.9.0", store.Done)
	noTrace.TraceDigest = ""
	upload := rec("upload", "1.99.0", store.Done)
	upload.Source = store.FromUpload
	// Newest submitted first, as Versions returns them: a backport of an
	// old line submitted last is not what 2.0.0 is compared with.
	recs := []*store.Record{upload, rec("backport", "1.2.9", store.Done), rec("later", "2.1.0", store.Done), rec("failed", "1.9.5", store.Failed),
		noTrace, rec("pre", "2.0.0-rc.1", store.Done), rec("bad", "banana", store.Done), rec("old", "1.10.0", store.Done)}
	tests := []struct {
		version, want string
	}{
		{"2.0.0", "pre"},
		{"2.0.0-rc.1", "old"}, // 1.10.0 > 1.2.9: numeric order; not the upload
		{"1.2.9", ""},
		{"3.0.0", "later"},
		{"1.0.0", ""},
	}
	for _, tt := range tests {
		got := Earlier(recs, "npm", tt.version)
		if id := ""; got != nil {
			id = got.ID
			if id != tt.want {
				t.Errorf("Earlier(%s) = %s, want %q", tt.version, id, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("Earlier(%s) = nil, want %s", tt.version, tt.want)
		}
	}
}

// PyPI versions compare by PEP 440: a release candidate is below its
// release, a post-release above it.
func TestEarlierPyPI(t *testing.T) {
	var recs []*store.Record
	for _, v := range []string{"2.0.post1", "2.0rc1", "1.10"} {
		recs = append(recs, &store.Record{Analysis: analysis.Analysis{ID: v, Package: analysis.Package{Ecosystem: "pypi", Name: "x", Version: v}},
			Status: store.Done, TraceDigest: "sha256:t"})
	}
	for version, want := range map[string]string{"2.0": "2.0rc1", "2.0rc1": "1.10", "2.1": "2.0.post1"} {
		if got := Earlier(recs, "pypi", version); got == nil || got.ID != want {
			t.Errorf("Earlier(%s) = %v, want %s", version, got, want)
		}
	}
}
