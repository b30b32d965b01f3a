package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
// registry: dependencies, optionalDependencies and non-optional
// peerDependencies, registry specs only.
func (m Manifest) Deps() map[string]string {
	out := map[string]string{}
	add := func(deps map[string]string, skip func(string) bool) {
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
	add(m.PeerDependencies, func(n string) bool { return m.PeerDependenciesMeta[n].Optional })
	add(m.OptionalDependencies, none)
	add(m.Dependencies, none)
	return out
}

// Prepare fills cacheDir, an npm cache, with everything an offline
// install of a package with manifest m needs. It runs the host's npm with
// scripts disabled in a temporary project that lists m's registry
// dependencies (never the package itself), against registry (npm's own
// configuration when empty). The temporary project is removed.
func Prepare(ctx context.Context, registry string, m Manifest, cacheDir string) error {
	deps := m.Deps()
	if len(deps) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp("", "npm-deps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pj, err := json.MarshalIndent(map[string]any{"name": "deps", "version": "1.0.0", "private": true, "dependencies": deps}, "", "  ")
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
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	slog.InfoContext(ctx, "npm prepare offline cache", "package", m.Name, "dependencies", names)
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_ignore_scripts=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install of %d dependencies: %w: %s", len(deps), err, tail(out.Bytes(), 2048))
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
