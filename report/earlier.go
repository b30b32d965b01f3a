package report

import (
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
)

// Earlier returns the analysis a version of a package is compared with:
// of recs, the package's versions (store.Store.Versions), the finished
// one with a stored trace whose version is the highest below version in
// the ecosystem's order (SemVer for npm, PEP 440 for PyPI), or nil.
// Versions that do not parse are passed over, and so are uploads: what an
// uploaded artifact holds is its uploader's choice, and an upload of a
// made-up earlier version with the same script must not hide a script
// new in a registry release.
func Earlier(recs []*store.Record, eco, version string) *store.Record {
	var best *store.Record
	for _, r := range recs {
		if r.Status != store.Done || r.TraceDigest == "" || r.Source == store.FromUpload {
			continue
		}
		if c, err := ecosystem.CompareVersions(eco, r.Package.Version, version); err != nil || c >= 0 {
			continue
		}
		if best == nil {
			best = r
			continue
		}
		if c, _ := ecosystem.CompareVersions(eco, r.Package.Version, best.Package.Version); c > 0 {
			best = r
		}
	}
	return best
}
