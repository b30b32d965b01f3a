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
