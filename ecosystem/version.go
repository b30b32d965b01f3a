package ecosystem

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// CompareVersions returns -1, 0 or 1 as version a of a package of eco
// sorts before, with or after version b: SemVer 2.0.0 precedence for npm
// (build metadata ignored, prereleases before their release), PEP 440
// for PyPI. A version that does not parse is an error.
func CompareVersions(eco, a, b string) (int, error) {
	switch eco {
	case NPM:
		va, err := semver.StrictNewVersion(a)
		if err != nil {
			return 0, fmt.Errorf("npm version %q: %w", a, err)
		}
		vb, err := semver.StrictNewVersion(b)
		if err != nil {
			return 0, fmt.Errorf("npm version %q: %w", b, err)
		}
		return va.Compare(vb), nil
	case PyPI:
		va, err := pypi.ParseVersion(a)
		if err != nil {
			return 0, err
		}
		vb, err := pypi.ParseVersion(b)
		if err != nil {
			return 0, err
		}
		return va.Compare(vb), nil
	}
	return 0, fmt.Errorf("ecosystem %q: %w", eco, ErrBadSpec)
}
