package ecosystem

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// Prepare fills cacheDir, a host directory that appears in the sandbox at
// Layout.Cache, with what the offline install of a needs, running no
// package code: for npm, cfg.NPM (the sandbox's own node and npm)
// resolves and downloads a's registry dependencies with scripts disabled
// into the npm cache at cacheDir (see npm.Prepare); for pypi, the declared dependencies are
// downloaded from the simple index into cacheDir as a pip find-links
// directory (see pypi.Prepare; without an index they are skipped with a
// warning).
func Prepare(ctx context.Context, cfg Config, a Artifact, cacheDir string) error {
	cfg = cfg.withDefaults()
	lim := cfg.limits()
	switch a.Ecosystem {
	case NPM:
		m, err := npm.Check(a.File, lim)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", a.Name, err)
		}
		if err := npm.Prepare(ctx, cfg.NPM, a.Registry, m, cacheDir); err != nil {
			return fmt.Errorf("prepare %s: %w", a.Name, err)
		}
		return nil
	case PyPI:
		m, err := pypi.Check(a.File, lim)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", a.Name, err)
		}
		if a.Requires != nil {
			m.Requires = a.Requires
		}
		if len(m.Requires) == 0 {
			return nil
		}
		if cfg.PyPIIndex == "" {
			slog.WarnContext(ctx, "no PyPI index: dependencies not cached", "package", a.Name, "requires", m.Requires)
			return nil
		}
		return pypi.Prepare(ctx, pypi.Index{URL: cfg.PyPIIndex, Client: cfg.HTTPClient}, m, cacheDir, lim)
	}
	return fmt.Errorf("prepare: ecosystem %q: %w", a.Ecosystem, ErrBadSpec)
}
