package npm

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// Manifest is the part of package.json fumehood reads.
type Manifest struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Main    string            `json:"main"`
	Files   []string          `json:"files"`
	Scripts map[string]string `json:"scripts"`
	// GypFile false turns off npm's default install script for a
	// package with a binding.gyp.
	GypFile              *bool             `json:"gypfile"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	PeerDependenciesMeta map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`

	// top is the tarball's top directory ("package/"), and members the
	// names of its entries below it, as Check found them.
	top     string
	members map[string]bool
}

// parseManifest decodes package.json and checks name and version.
func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("package.json: %v: %w", err, archive.ErrBadArtifact)
	}
	if err := ValidName(m.Name); err != nil {
		return Manifest{}, fmt.Errorf("package.json: %v: %w", err, archive.ErrBadArtifact)
	}
	if !semver.MatchString(m.Version) {
		return Manifest{}, fmt.Errorf("package.json: version %q is not SemVer: %w", m.Version, archive.ErrBadArtifact)
	}
	return m, nil
}

// Check checks the npm tarball at file (see archive.CheckTarGz) and
// returns its package.json. npm strips the first path component, so the
// manifest is "<top>/package.json"; "package/package.json" wins when
// several exist.
func Check(file string, lim archive.Limits) (Manifest, error) {
	isManifest := func(n string) bool {
		dir, base := path.Split(n)
		return base == "package.json" && dir != "" && !strings.Contains(strings.TrimSuffix(dir, "/"), "/")
	}
	c, err := archive.CheckTarGz(file, lim, isManifest)
	if err != nil {
		return Manifest{}, err
	}
	top := "package/"
	b, ok := c.Files[top+"package.json"]
	if !ok {
		for _, n := range c.Names {
			if b, ok = c.Files[n]; ok {
				top = path.Dir(n) + "/"
				break
			}
		}
	}
	if !ok {
		return Manifest{}, fmt.Errorf("no package.json in the tarball: %w", archive.ErrBadArtifact)
	}
	m, err := parseManifest(b)
	if err != nil {
		return Manifest{}, err
	}
	m.top, m.members = top, map[string]bool{}
	for _, n := range c.Names {
		if rel, ok := strings.CutPrefix(n, top); ok {
			m.members[rel] = true
		}
	}
	if m.members["binding.gyp"] {
		m.addGypInstall()
	}
	return m, nil
}

// addGypInstall gives a package with a binding.gyp the install script
// npm gives it (node-gyp rebuild) when it declares neither install nor
// preinstall and has not set gypfile to false.
func (m *Manifest) addGypInstall() {
	if m.GypFile != nil && !*m.GypFile || m.Scripts["install"] != "" || m.Scripts["preinstall"] != "" {
		return
	}
	if m.Scripts == nil {
		m.Scripts = map[string]string{}
	}
	m.Scripts["install"] = "node-gyp rebuild"
}

// InstallScripts are the lifecycle scripts npm runs when it installs a
// package from a tarball, in order. prepare (and prepublish) run only in
// a package's own directory or for git dependencies, never for a
// tarball, so they are not among them.
var InstallScripts = []string{"preinstall", "install", "postinstall"}

// Script is one lifecycle script a package declares.
type Script struct{ Name, Command string }

// LifecycleScripts returns the InstallScripts m declares, in the order
// npm runs them.
func (m Manifest) LifecycleScripts() []Script {
	var out []Script
	for _, n := range InstallScripts {
		if c := m.Scripts[n]; c != "" {
			out = append(out, Script{Name: n, Command: c})
		}
	}
	return out
}

// RunsScript reports whether a process with argv, a direct child of npm,
// runs the script command the way npm does: sh -c COMMAND (npm's
// script-shell, run without extra arguments for lifecycle scripts).
func RunsScript(argv []string, command string) bool {
	return len(argv) == 3 && path.Base(argv[0]) == "sh" && argv[1] == "-c" && argv[2] == command
}
