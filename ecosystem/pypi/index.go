package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/ecosystem/internal/download"
)

// Index is a PEP 503/691 simple repository at a base URL (the URL that
// project pages hang off, e.g. ".../simple/").
type Index struct {
	URL    string
	Client *http.Client
}

// File is one distribution file a project page lists.
type File struct {
	Filename string
	URL      string
	SHA256   string
	// RequiresPython is the file's Requires-Python (PEP 503's
	// data-requires-python), "" when the index does not say.
	RequiresPython string
	Yanked         bool
	Uploaded       time.Time // PEP 700 upload-time; zero from an index that does not say
}

// SimpleAccept is the Accept of a project page request: JSON (PEP 691)
// preferred, HTML (PEP 503) accepted.
const SimpleAccept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"

var anchorRE = regexp.MustCompile(`(?is)<a\s([^>]*)>([^<]*)</a>`)
var hrefRE = regexp.MustCompile(`(?is)href\s*=\s*("([^"]*)"|'([^']*)')`)
var requiresPythonRE = regexp.MustCompile(`(?is)data-requires-python\s*=\s*("([^"]*)"|'([^']*)')`)

// Files lists the files of project (JSON per PEP 691, else HTML per PEP
// 503), with URLs made absolute.
func (ix Index) Files(ctx context.Context, project string) ([]File, error) {
	if ix.URL == "" {
		return nil, fmt.Errorf("no PyPI simple index configured (FUMEHOOD_PYPI_INDEX)")
	}
	base, err := url.Parse(strings.TrimSuffix(ix.URL, "/") + "/" + Normalize(project) + "/")
	if err != nil {
		return nil, fmt.Errorf("index url: %w", err)
	}
	body, ctype, err := download.Document(ctx, ix.Client, base.String(), SimpleAccept)
	if err != nil {
		return nil, fmt.Errorf("pypi project %s: %w", project, err)
	}
	files, err := ParseProjectPage(base, body, ctype)
	if err != nil {
		return nil, fmt.Errorf("pypi project %s: %w", project, err)
	}
	return files, nil
}

// ParseProjectPage reads a project page at page: JSON per PEP 691 when
// ctype says so, else HTML per PEP 503. File URLs are made absolute
// against page, and the sha256 of an HTML link is its #sha256= fragment.
func ParseProjectPage(page *url.URL, body []byte, ctype string) ([]File, error) {
	var files []File
	if strings.Contains(ctype, "json") {
		var doc struct {
			Files []struct {
				Filename       string            `json:"filename"`
				URL            string            `json:"url"`
				Hashes         map[string]string `json:"hashes"`
				RequiresPython string            `json:"requires-python"`
				Yanked         any               `json:"yanked"`
				Uploaded       string            `json:"upload-time"`
			} `json:"files"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("%v: %w", err, archive.ErrBadArtifact)
		}
		for _, f := range doc.Files {
			yanked := f.Yanked != nil && f.Yanked != false
			up, _ := time.Parse(time.RFC3339, f.Uploaded)
			files = append(files, File{Filename: f.Filename, URL: f.URL, SHA256: f.Hashes["sha256"], RequiresPython: f.RequiresPython,
				Yanked: yanked, Uploaded: up})
		}
	} else {
		for _, a := range anchorRE.FindAllStringSubmatch(string(body), -1) {
			h := hrefRE.FindStringSubmatch(a[1])
			if h == nil {
				continue
			}
			href := html.UnescapeString(h[2] + h[3])
			f := File{Filename: strings.TrimSpace(html.UnescapeString(a[2])), URL: href}
			if u, frag, ok := strings.Cut(href, "#"); ok {
				f.URL = u
				if algo, val, ok := strings.Cut(frag, "="); ok && algo == "sha256" {
					f.SHA256 = val
				}
			}
			if rp := requiresPythonRE.FindStringSubmatch(a[1]); rp != nil {
				f.RequiresPython = html.UnescapeString(rp[2] + rp[3])
			}
			f.Yanked = strings.Contains(strings.ToLower(a[1]), "data-yanked")
			files = append(files, f)
		}
	}
	for i := range files {
		u, err := page.Parse(files[i].URL)
		if err != nil {
			return nil, fmt.Errorf("file url %q: %w", files[i].URL, archive.ErrBadArtifact)
		}
		files[i].URL = u.String()
	}
	return files, nil
}

// Dist is what a distribution file name says.
type Dist struct {
	Name, Version string
	Wheel         bool
	Tags          []string // wheel: python, abi, platform tags
}

// ParseFilename reads a wheel name (PEP 427) or an sdist name
// NAME-VERSION.tar.gz. Other files (eggs, .zip sdists) are not understood.
func ParseFilename(fn string) (Dist, bool) {
	if stem, ok := strings.CutSuffix(fn, ".whl"); ok {
		parts := strings.Split(stem, "-")
		if len(parts) != 5 && len(parts) != 6 {
			return Dist{}, false
		}
		n := len(parts)
		return Dist{Name: parts[0], Version: parts[1], Wheel: true, Tags: parts[n-3:]}, true
	}
	if stem, ok := strings.CutSuffix(fn, ".tar.gz"); ok {
		i := strings.LastIndex(stem, "-")
		if i <= 0 {
			return Dist{}, false
		}
		return Dist{Name: stem[:i], Version: stem[i+1:]}, true
	}
	return Dist{}, false
}

// sandboxPython is the minor version of the sandbox's CPython 3 (Debian
// 13's python3, deploy/image/recipe.sh).
const sandboxPython = 13

// pyTag reports whether the wheel python tag py fits the sandbox's
// CPython for a wheel of abi: py3, py3N up to its version, cp3N of its
// version (cp3N up to its version for the stable abi3).
func pyTag(py, abi string) bool {
	if py == "py3" {
		return abi == "none"
	}
	for _, prefix := range []string{"py3", "cp3"} {
		minor, ok := strings.CutPrefix(py, prefix)
		n, err := strconv.Atoi(minor)
		if !ok || err != nil || n > sandboxPython || minor != strconv.Itoa(n) {
			continue
		}
		switch {
		case prefix == "py3":
			return abi == "none"
		case abi == "abi3":
			return true
		default:
			return n == sandboxPython && (abi == "none" || abi == py)
		}
	}
	return false
}

// manylinuxArch is the host's architecture as manylinux tags spell it, ""
// where no manylinux wheel fits.
var manylinuxArch = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]

// wheelRank scores how well a wheel's tags fit the sandbox (CPython
// 3.sandboxPython on glibc Linux of the host's architecture): 0 does not
// fit, higher is more specific.
func wheelRank(tags []string) int {
	arch := manylinuxArch
	best := 0
	for _, py := range strings.Split(tags[0], ".") {
		for _, abi := range strings.Split(tags[1], ".") {
			for _, plat := range strings.Split(tags[2], ".") {
				r := 0
				switch {
				case !pyTag(py, abi):
				case plat == "any" && abi == "none":
					r = 1
				case arch != "" && strings.HasPrefix(plat, "manylinux") && strings.HasSuffix(plat, "_"+arch):
					r = 2
				}
				best = max(best, r)
			}
		}
	}
	return best
}

// Pick returns the file of project at version that pip in the sandbox
// would install: the best-fitting wheel, else the sdist. Yanked files are
// skipped.
func Pick(files []File, project, version string) (File, bool) {
	want, err := ParseVersion(version)
	if err != nil {
		return File{}, false
	}
	var best File
	bestRank := -1
	for _, f := range files {
		d, ok := ParseFilename(f.Filename)
		if !ok || f.Yanked || Normalize(d.Name) != Normalize(project) {
			continue
		}
		v, err := ParseVersion(d.Version)
		if err != nil || v.Compare(want) != 0 {
			continue
		}
		r := 0 // sdist
		if d.Wheel {
			if r = wheelRank(d.Tags); r == 0 {
				continue
			}
		}
		if r > bestRank {
			best, bestRank = f, r
		}
	}
	return best, bestRank >= 0
}

// Download fetches f into dir, verifying its sha256; an index that gives
// no sha256 is refused.
func (ix Index) Download(ctx context.Context, f File, dir string, lim archive.Limits) (string, error) {
	want, err := hex.DecodeString(f.SHA256)
	if err != nil || len(want) != sha256.Size {
		return "", fmt.Errorf("%s: index gave no valid sha256 (%q): %w", f.Filename, f.SHA256, archive.ErrBadArtifact)
	}
	name := path.Base(f.Filename)
	if name != f.Filename || name == "." || name == ".." {
		return "", fmt.Errorf("file name %q: %w", f.Filename, archive.ErrBadArtifact)
	}
	out := filepath.Join(dir, name)
	h := sha256.New()
	if err := download.File(ctx, ix.Client, f.URL, out, lim.MaxBytes, h); err != nil {
		return "", fmt.Errorf("%s: %w", f.Filename, err)
	}
	if got := h.Sum(nil); string(got) != string(want) {
		os.Remove(out)
		return "", fmt.Errorf("%s: sha256 mismatch: got %x, want %x: %w", f.Filename, got, want, archive.ErrBadArtifact)
	}
	return out, nil
}
