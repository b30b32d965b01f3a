package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Media types of packuments.
const (
	mediaJSON        = "application/json"
	mediaAbbreviated = "application/vnd.npm.install-v1+json"
)

// packument is an upstream package document (the full one, whose "time"
// dates each version), parsed once and rendered for each client.
type packument struct {
	name   string
	digest string // of the upstream's document

	top      map[string]json.RawMessage // fields besides versions, time, dist-tags, _attachments
	distTags map[string]string
	modified string
	times    map[string]string // the "time" object as given
	versions map[string]*version
	byFile   map[string]*version // tarball file name → version
}

// version is one version of a packument.
type version struct {
	Version   string
	Published time.Time
	Tarball   string // the upstream tarball URL
	File      string // its file name, the last element of the proxy's tarball path
	// Integrity is dist.integrity, or "sha1-" and dist.shasum for
	// versions that only have that.
	Integrity         string
	SRI, Shasum       string
	fields            map[string]json.RawMessage
	dist              map[string]json.RawMessage
	hasInstallScripts bool
}

// abbreviatedFields are the version fields of an abbreviated packument,
// as the npm registry serves it.
var abbreviatedFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
	"bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta", "bin",
	"directories", "engines", "os", "cpu", "libc", "_hasShrinkwrap", "funding", "license",
	"acceptDependencies",
}

// parsePackument reads an upstream's full packument of name.
func parsePackument(name string, b []byte) (*packument, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("packument of %s: %w", name, err)
	}
	p := &packument{name: name, digest: sha256Digest(b), top: top, versions: map[string]*version{}, byFile: map[string]*version{}}
	var raw map[string]json.RawMessage
	for field, into := range map[string]any{"versions": &raw, "dist-tags": &p.distTags, "time": &p.times} {
		if v, ok := top[field]; ok {
			if err := json.Unmarshal(v, into); err != nil {
				return nil, fmt.Errorf("packument of %s: %s: %w", name, field, err)
			}
		}
		delete(top, field)
	}
	delete(top, "_attachments")
	p.modified = p.times["modified"]
	for v, body := range raw {
		ver := &version{Version: v}
		if err := json.Unmarshal(body, &ver.fields); err != nil {
			return nil, fmt.Errorf("packument of %s: version %s: %w", name, v, err)
		}
		if err := json.Unmarshal(ver.fields["dist"], &ver.dist); err != nil {
			return nil, fmt.Errorf("packument of %s: version %s: dist: %w", name, v, err)
		}
		for field, into := range map[string]*string{"tarball": &ver.Tarball, "integrity": &ver.SRI, "shasum": &ver.Shasum} {
			if s, ok := ver.dist[field]; ok {
				if err := json.Unmarshal(s, into); err != nil {
					return nil, fmt.Errorf("packument of %s: version %s: dist.%s: %w", name, v, field, err)
				}
			}
		}
		u, err := url.Parse(ver.Tarball)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(u.Path, ".tgz") {
			continue // not a version the firewall can serve
		}
		ver.File = path.Base(u.Path)
		ver.Integrity = ver.SRI
		if ver.Integrity == "" && ver.Shasum != "" {
			ver.Integrity = "sha1-" + ver.Shasum
		}
		ver.Published, _ = time.Parse(time.RFC3339, p.times[v])
		ver.hasInstallScripts = installScripts(ver.fields)
		p.versions[v] = ver
		p.byFile[ver.File] = ver
	}
	return p, nil
}

// installScripts is the registry's hasInstallScript: a preinstall,
// install or postinstall script, or a binding.gyp (gypfile) that npm
// builds.
func installScripts(fields map[string]json.RawMessage) bool {
	var has bool
	if json.Unmarshal(fields["hasInstallScript"], &has) == nil && has {
		return true
	}
	var scripts map[string]any
	json.Unmarshal(fields["scripts"], &scripts)
	for _, s := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := scripts[s]; ok {
			return true
		}
	}
	var gyp bool
	return json.Unmarshal(fields["gypfile"], &gyp) == nil && gyp
}

// tarballPath is the proxy's path of a version's tarball.
func tarballPath(name, file string) string {
	return "/" + name + "/-/" + url.PathEscape(file)
}

// render writes the packument a client gets: only the admitted versions,
// their tarballs at base (the proxy's URL), dist-tags pointing at admitted
// versions; abbreviated as npm asks for it with mediaAbbreviated.
func (p *packument) render(admitted []string, base string, abbreviated bool) ([]byte, error) {
	var (
		buf bytes.Buffer
		err error
	)
	field := func(k string, v any) {
		kb, kerr := json.Marshal(k)
		vb, verr := json.Marshal(v)
		if err = errors.Join(err, kerr, verr); err != nil {
			return
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('{')
	field("name", p.name)
	if abbreviated {
		if p.modified != "" {
			field("modified", p.modified)
		}
	} else {
		keys := make([]string, 0, len(p.top))
		for k := range p.top {
			if k != "name" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			field(k, p.top[k])
		}
		times := map[string]string{}
		for _, k := range []string{"created", "modified"} {
			if t, ok := p.times[k]; ok {
				times[k] = t
			}
		}
		for _, v := range admitted {
			if t, ok := p.times[v]; ok {
				times[v] = t
			}
		}
		field("time", times)
	}
	field("dist-tags", p.tags(admitted))
	versions := make(map[string]map[string]json.RawMessage, len(admitted))
	for _, v := range admitted {
		versions[v] = p.versions[v].render(p.name, base, abbreviated)
	}
	if field("versions", versions); err != nil {
		return nil, fmt.Errorf("render packument of %s: %w", p.name, err)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// render returns the version's object with its tarball at base.
func (v *version) render(name, base string, abbreviated bool) map[string]json.RawMessage {
	dist := make(map[string]json.RawMessage, len(v.dist))
	for k, x := range v.dist {
		dist[k] = x
	}
	dist["tarball"], _ = json.Marshal(strings.TrimSuffix(base, "/") + tarballPath(name, v.File))
	distJSON, _ := json.Marshal(dist)
	out := map[string]json.RawMessage{}
	if abbreviated {
		for _, k := range abbreviatedFields {
			if x, ok := v.fields[k]; ok {
				out[k] = x
			}
		}
		if v.hasInstallScripts {
			out["hasInstallScript"] = json.RawMessage("true")
		}
	} else {
		for k, x := range v.fields {
			out[k] = x
		}
	}
	out["dist"] = distJSON
	return out
}

// tags returns the dist-tags that point at admitted versions; latest,
// when its version is not admitted, points at the highest admitted
// release (or, without one, the highest admitted version) so that ranges
// and a bare install resolve to what is safe. Other tags of a version not
// admitted are left out.
func (p *packument) tags(admitted []string) map[string]string {
	ok := make(map[string]bool, len(admitted))
	for _, v := range admitted {
		ok[v] = true
	}
	out := map[string]string{}
	for tag, v := range p.distTags {
		if ok[v] {
			out[tag] = v
		}
	}
	if _, has := out["latest"]; has || len(admitted) == 0 {
		return out
	}
	var best, bestPre *semver.Version
	for _, v := range admitted {
		sv, err := semver.StrictNewVersion(v)
		if err != nil {
			continue
		}
		if sv.Prerelease() == "" && (best == nil || sv.GreaterThan(best)) {
			best = sv
		}
		if bestPre == nil || sv.GreaterThan(bestPre) {
			bestPre = sv
		}
	}
	switch {
	case best != nil:
		out["latest"] = best.Original()
	case bestPre != nil:
		out["latest"] = bestPre.Original()
	}
	return out
}

// sortedVersions returns the packument's versions in a stable order.
func (p *packument) sortedVersions() []string {
	vs := make([]string, 0, len(p.versions))
	for v := range p.versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}
