package npm

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/ecosystem/internal/download"
)

// Registry is an npm registry at a base URL.
type Registry struct {
	URL    string
	Client *http.Client
}

// packumentAccept asks for the abbreviated ("corgi") packument, as npm does.
const packumentAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

type packument struct {
	Versions map[string]struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
			Shasum    string `json:"shasum"`
		} `json:"dist"`
	} `json:"versions"`
}

// Releases returns name's versions with their publication times (the
// full packument's "time"; zero for a version it does not date) and the
// version dist-tags.latest names ("" if none).
func (r Registry) Releases(ctx context.Context, name string) (map[string]time.Time, string, error) {
	if r.URL == "" {
		return nil, "", fmt.Errorf("no npm registry configured")
	}
	u := strings.TrimSuffix(r.URL, "/") + "/" + strings.Replace(name, "/", "%2f", 1)
	b, _, err := download.Document(ctx, r.Client, u, "application/json")
	if err != nil {
		return nil, "", fmt.Errorf("npm package %s: %w", name, err)
	}
	var p struct {
		DistTags struct {
			Latest string `json:"latest"`
		} `json:"dist-tags"`
		Versions map[string]json.RawMessage `json:"versions"`
		Time     map[string]string          `json:"time"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, "", fmt.Errorf("npm package %s: packument: %v: %w", name, err, archive.ErrBadArtifact)
	}
	out := make(map[string]time.Time, len(p.Versions))
	for v := range p.Versions {
		t, _ := time.Parse(time.RFC3339, p.Time[v])
		out[v] = t
	}
	return out, p.DistTags.Latest, nil
}

// Download resolves name@version in the registry and downloads its
// tarball into workDir, verifying dist.integrity (sha512) or, for old
// packages, dist.shasum (sha1). It returns the file's path.
func (r Registry) Download(ctx context.Context, name, version, workDir string, lim archive.Limits) (string, error) {
	if r.URL == "" {
		return "", fmt.Errorf("no npm registry configured")
	}
	u := strings.TrimSuffix(r.URL, "/") + "/" + strings.Replace(name, "/", "%2f", 1)
	b, _, err := download.Document(ctx, r.Client, u, packumentAccept)
	if err != nil {
		return "", fmt.Errorf("npm package %s: %w", name, err)
	}
	var p packument
	if err := json.Unmarshal(b, &p); err != nil {
		return "", fmt.Errorf("npm package %s: packument: %v: %w", name, err, archive.ErrBadArtifact)
	}
	v, ok := p.Versions[version]
	if !ok {
		return "", fmt.Errorf("npm package %s has no version %s: %w", name, version, archive.ErrNotFound)
	}
	h, want, err := Integrity(v.Dist.Integrity, v.Dist.Shasum)
	if err != nil {
		return "", fmt.Errorf("npm package %s@%s: %w", name, version, err)
	}
	out := filepath.Join(workDir, TarballName(name, version))
	if err := download.File(ctx, r.Client, v.Dist.Tarball, out, lim.MaxBytes, h); err != nil {
		return "", fmt.Errorf("npm package %s@%s: %w", name, version, err)
	}
	if got := h.Sum(nil); string(got) != string(want) {
		os.Remove(out)
		return "", fmt.Errorf("npm package %s@%s: integrity mismatch: got %x, want %x: %w", name, version, got, want, archive.ErrBadArtifact)
	}
	return out, nil
}

// Integrity picks the strongest hash the registry gave: an SRI sha512
// entry of dist.integrity, else the sha1 dist.shasum. It returns a fresh
// hash of that algorithm and the sum the bytes must have; errors wrap
// the ecosystem's ErrBadArtifact.
func Integrity(sri, shasum string) (hash.Hash, []byte, error) {
	for _, f := range strings.Fields(sri) {
		algo, val, ok := strings.Cut(f, "-")
		if !ok {
			continue
		}
		if q := strings.IndexByte(val, '?'); q >= 0 {
			val = val[:q]
		}
		if algo == "sha512" {
			want, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(want) != sha512.Size {
				return nil, nil, fmt.Errorf("dist.integrity %q malformed: %w", f, archive.ErrBadArtifact)
			}
			return sha512.New(), want, nil
		}
	}
	if shasum != "" {
		want, err := hex.DecodeString(shasum)
		if err != nil || len(want) != sha1.Size {
			return nil, nil, fmt.Errorf("dist.shasum %q malformed: %w", shasum, archive.ErrBadArtifact)
		}
		return sha1.New(), want, nil
	}
	return nil, nil, fmt.Errorf("registry gave no sha512 integrity or sha1 shasum: %w", archive.ErrBadArtifact)
}

// TarballName is the file name npm pack gives name@version.
func TarballName(name, version string) string {
	return strings.Replace(strings.TrimPrefix(name, "@"), "/", "-", 1) + "-" + version + ".tgz"
}
