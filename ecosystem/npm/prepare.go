package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RegistrySpec reports whether a dependency spec resolves through the
// registry (a range, a version, a dist-tag or an "npm:" alias). Git, URL,
// file and link specs would make the host contact arbitrary places or read
// local paths, so Prepare leaves them out.
func RegistrySpec(spec string) bool {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "npm:") {
		return true
	}
	if strings.Contains(s, ":") || strings.Contains(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~/") {
		return false
	}
	return true
}

// Deps returns the dependencies of m an install resolves from the
// registry, registry specs only: required (dependencies and non-optional
// peerDependencies) and optional (optionalDependencies, which npm skips
// when they do not fit the platform: the per-platform binaries of esbuild,
// sharp, @swc/core...).
func (m Manifest) Deps() (required, optional map[string]string) {
	required, optional = map[string]string{}, map[string]string{}
	add := func(out, deps map[string]string, skip func(string) bool) {
		for n, s := range deps {
			if skip(n) {
				continue
			}
			if !RegistrySpec(s) || ValidName(n) != nil {
				slog.Warn("npm dependency left out of the offline cache", "package", m.Name, "dependency", n, "spec", s)
				continue
			}
			out[n] = s
		}
	}
	none := func(string) bool { return false }
	add(required, m.PeerDependencies, func(n string) bool { return m.PeerDependenciesMeta[n].Optional })
	add(required, m.Dependencies, none)
	add(optional, m.OptionalDependencies, func(n string) bool { _, ok := m.Dependencies[n]; return ok })
	return required, optional
}

// Prepare fills cacheDir, an npm cache, with everything an offline
// install of a package with manifest m needs. It runs npm of rt with
// scripts disabled in a temporary project that lists m's registry
// dependencies (never the package itself), against registry (npm's own
// configuration when empty): npm resolves, downloads and unpacks there,
// and runs nothing of what it downloads. The temporary project is
// removed.
func Prepare(ctx context.Context, rt Runtime, registry string, m Manifest, cacheDir string) error {
	deps, optional := m.Deps()
	if len(deps)+len(optional) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp("", "npm-deps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pj, err := json.MarshalIndent(map[string]any{"name": "deps", "version": "1.0.0", "private": true, "dependencies": deps, "optionalDependencies": optional}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), pj, 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(cacheDir)
	if err != nil {
		return err
	}
	args := []string{"install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-bin-links", "--cache", abs}
	if registry != "" {
		args = append(args, "--registry", registry)
	}
	names := make([]string, 0, len(deps)+len(optional))
	for _, m := range []map[string]string{deps, optional} {
		for n := range m {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	slog.InfoContext(ctx, "npm prepare offline cache", "package", m.Name, "dependencies", names, "npm", rt.Prefix)
	env := append(os.Environ(), "npm_config_update_notifier=false", "npm_config_ignore_scripts=true")
	if err := rt.run(ctx, tmp, env, args...); err != nil {
		return fmt.Errorf("npm install of %d dependencies: %w", len(names), err)
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
