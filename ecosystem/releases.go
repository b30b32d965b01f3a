package ecosystem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// Release is one published version of a package.
type Release struct {
	Version   string
	Published time.Time // zero when the registry does not say
	Latest    bool      // the version an install without a version gets
}

// Releases lists the published versions of the package eco:name at the
// configured registry (npm: every version, dated by the packument, latest
// by dist-tags) or index (PyPI: every version with a file that is not
// yanked, dated by its first upload when the index gives upload times,
// latest the highest final release). Errors wrap ErrBadSpec for a bad
// name and ErrNotFound for an unknown package.
func Releases(ctx context.Context, cfg Config, eco, name string) ([]Release, error) {
	if err := ValidName(eco, name); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var (
		out []Release
		err error
	)
	if eco == NPM {
		out, err = npmReleases(ctx, cfg, name)
	} else {
		out, err = pypiReleases(ctx, cfg, name)
	}
	if err != nil {
		return nil, fmt.Errorf("releases of %s:%s: %w", eco, name, err)
	}
	slices.SortFunc(out, func(a, b Release) int {
		return cmp.Or(a.Published.Compare(b.Published), strings.Compare(a.Version, b.Version))
	})
	return out, nil
}

func npmReleases(ctx context.Context, cfg Config, name string) ([]Release, error) {
	reg, err := cfg.npmRegistry(ctx)
	if err != nil {
		return nil, err
	}
	times, latest, err := npm.Registry{URL: reg, Client: cfg.HTTPClient}.Releases(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Release, 0, len(times))
	for v, t := range times {
		out = append(out, Release{Version: v, Published: t, Latest: v == latest})
	}
	return out, nil
}

func pypiReleases(ctx context.Context, cfg Config, name string) ([]Release, error) {
	if cfg.PyPIIndex == "" {
		return nil, fmt.Errorf("no PyPI simple index configured (FUMEHOOD_PYPI_INDEX)")
	}
	files, err := pypi.Index{URL: cfg.PyPIIndex, Client: cfg.HTTPClient}.Files(ctx, name)
	if err != nil {
		return nil, err
	}
	type rel struct {
		v         pypi.Version
		published time.Time
	}
	byVersion := map[string]*rel{}
	for _, f := range files {
		d, ok := pypi.ParseFilename(f.Filename)
		if !ok || f.Yanked || pypi.Normalize(d.Name) != pypi.Normalize(name) {
			continue
		}
		v, err := pypi.ParseVersion(d.Version)
		if err != nil {
			continue
		}
		r := byVersion[d.Version]
		if r == nil {
			r = &rel{v: v, published: f.Uploaded}
			byVersion[d.Version] = r
		}
		if !f.Uploaded.IsZero() && (r.published.IsZero() || f.Uploaded.Before(r.published)) {
			r.published = f.Uploaded
		}
	}
	latest := ""
	for s, r := range byVersion {
		if !r.v.Prerelease() && (latest == "" || r.v.Compare(byVersion[latest].v) > 0) {
			latest = s
		}
	}
	out := make([]Release, 0, len(byVersion))
	for s, r := range byVersion {
		out = append(out, Release{Version: s, Published: r.published, Latest: s == latest})
	}
	return out, nil
}
