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
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Main                 string            `json:"main"`
	Files                []string          `json:"files"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	PeerDependenciesMeta map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`
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
	b, ok := c.Files["package/package.json"]
	if !ok {
		for _, n := range c.Names {
			if b, ok = c.Files[n]; ok {
				break
			}
		}
	}
	if !ok {
		return Manifest{}, fmt.Errorf("no package.json in the tarball: %w", archive.ErrBadArtifact)
	}
	return parseManifest(b)
}
