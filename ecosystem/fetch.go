package ecosystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// Errors of Fetch, for errors.Is.
var (
	// ErrBadArtifact: malformed or unsafe archive, missing or invalid
	// manifest, integrity mismatch, or an artifact that is not the
	// package version asked for.
	ErrBadArtifact = archive.ErrBadArtifact
	// ErrNotFound: the package or version does not exist in the registry.
	ErrNotFound = archive.ErrNotFound
	// ErrTooLarge: over MaxArtifact bytes (8 times that uncompressed) or
	// MaxFiles entries.
	ErrTooLarge = archive.ErrTooLarge
)

// Artifact is one package version's archive on the host.
type Artifact struct {
	Ecosystem, Name, Version string
	// File is the host path of the archive (.tgz, .tar.gz or .whl),
	// inside the work directory given to Fetch.
	File string
	// Digest is "sha256:<hex>" of File.
	Digest string
	Size   int64
	// Registry is, for npm, the registry URL dependencies resolve
	// against. npm keys cached packuments by URL, so the offline install
	// (Commands) must name the registry Prepare filled the cache from.
	Registry string
	// Dynamic is set for a PyPI source tree or archive whose name or
	// version only its build backend can tell (setup.py computes it):
	// Name and Version are empty until Learn reads them from the
	// sandboxed metadata phase (MetadataCommand).
	Dynamic bool
	// Requires are, for a PyPI artifact whose metadata Learn read, the
	// requirements its build backend declared; nil: read from the
	// artifact.
	Requires []string
}

// Fetch produces the artifact of t in workDir (an existing directory):
// it downloads a registry version verifying the registry's hash (npm
// dist.integrity sha512 or shasum sha1; PyPI sha256), copies an uploaded
// file, or packs a source directory like npm pack / python -m build
// --sdist (see npm.Pack, pypi.Pack). Every artifact is then checked (see
// archive.CheckTarGz) and its manifest read; a registry artifact whose
// manifest names another package or version is refused, and so is a file
// (Path) whose manifest is not the Name and Version t gives beside it
// (a registry version fetched by someone else). Nothing is
// written outside workDir. Errors wrap ErrBadArtifact, ErrNotFound,
// ErrTooLarge, or errors.ErrUnsupported for pypi specs without an index.
func Fetch(ctx context.Context, cfg Config, t Target, workDir string) (Artifact, error) {
	cfg = cfg.withDefaults()
	lim := cfg.limits()
	a := Artifact{Ecosystem: t.Ecosystem}
	if t.Ecosystem == NPM {
		reg, err := cfg.npmRegistry(ctx)
		if err != nil {
			if t.Path == "" {
				return Artifact{}, err
			}
			slog.WarnContext(ctx, "no npm registry: dependencies cannot be prepared", "err", err)
		}
		a.Registry = reg
	}
	var err error
	switch {
	case t.Ecosystem != NPM && t.Ecosystem != PyPI:
		return Artifact{}, fmt.Errorf("ecosystem %q: %w", t.Ecosystem, ErrBadSpec)
	case t.Path != "":
		a.File, err = local(t, workDir, lim)
	case t.Ecosystem == NPM:
		a.File, err = npm.Registry{URL: a.Registry, Client: cfg.HTTPClient}.Download(ctx, t.Name, t.Version, workDir, lim)
	default:
		a.File, err = fetchPyPI(ctx, cfg, t, workDir, lim)
	}
	if err != nil {
		return Artifact{}, fmt.Errorf("fetch %s: %w", t, err)
	}
	a.Name, a.Version, a.Dynamic, err = readManifest(t.Ecosystem, a.File, lim)
	switch {
	case err == nil && t.Path == "" && a.Dynamic:
		err = fmt.Errorf("a registry sdist must carry PKG-INFO: %w", ErrBadArtifact)
	case err == nil && (t.Path == "" || t.Name != "") && !sameVersion(t, a):
		err = fmt.Errorf("the artifact says it is %s %s: %w", a.Name, a.Version, ErrBadArtifact)
	}
	if err != nil {
		os.Remove(a.File)
		return Artifact{}, fmt.Errorf("fetch %s: %w", t, err)
	}
	a.Digest, a.Size, err = archive.Digest(a.File)
	if err != nil {
		return Artifact{}, fmt.Errorf("fetch %s: %w", t, err)
	}
	return a, nil
}

func sameVersion(t Target, a Artifact) bool {
	if t.Ecosystem == NPM {
		return t.Name == a.Name && t.Version == a.Version
	}
	want, err1 := pypi.ParseVersion(t.Version)
	got, err2 := pypi.ParseVersion(a.Version)
	return err1 == nil && err2 == nil && pypi.Normalize(t.Name) == pypi.Normalize(a.Name) && want.Compare(got) == 0
}

func fetchPyPI(ctx context.Context, cfg Config, t Target, workDir string, lim archive.Limits) (string, error) {
	if cfg.PyPIIndex == "" {
		return "", fmt.Errorf("pypi specs need a simple index: set FUMEHOOD_PYPI_INDEX (or upload the file): %w", errors.ErrUnsupported)
	}
	ix := pypi.Index{URL: cfg.PyPIIndex, Client: cfg.HTTPClient}
	files, err := ix.Files(ctx, t.Name)
	if err != nil {
		return "", err
	}
	f, ok := pypi.Pick(files, t.Name, t.Version)
	if !ok {
		return "", fmt.Errorf("no sdist or fitting wheel of %s %s in the index: %w", t.Name, t.Version, ErrNotFound)
	}
	return ix.Download(ctx, f, workDir, lim)
}

// NameArtifact gives file, a registry artifact of eco kept under a name
// that does not tell its format (bytes the registry firewall fetched, from
// the blob store), the name its format needs and returns the new path:
// a PyPI wheel (a zip) its PEP 427 name, read from its .dist-info, since
// pip installs a wheel by what its name says; anything else keeps its
// name.
func NameArtifact(cfg Config, eco, file string) (string, error) {
	if eco != PyPI {
		return file, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	f.Close()
	if err != nil || string(magic) != "PK\x03\x04" {
		return file, nil // an sdist, or bad bytes that Fetch refuses
	}
	name, err := pypi.WheelName(file, cfg.withDefaults().limits())
	if err != nil {
		return "", err
	}
	out := filepath.Join(filepath.Dir(file), name)
	if err := os.Rename(file, out); err != nil {
		return "", err
	}
	return out, nil
}

// local packs a source directory or copies an uploaded file into workDir.
func local(t Target, workDir string, lim archive.Limits) (string, error) {
	st, err := os.Stat(t.Path)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrBadArtifact)
	}
	if st.IsDir() {
		var file string
		if t.Ecosystem == NPM {
			file, _, err = npm.Pack(t.Path, workDir, lim)
		} else {
			file, _, err = pypi.Pack(t.Path, workDir, lim)
		}
		return file, err
	}
	if st.Size() > lim.MaxBytes {
		return "", fmt.Errorf("%d bytes, limit %d: %w", st.Size(), lim.MaxBytes, ErrTooLarge)
	}
	out := filepath.Join(workDir, filepath.Base(t.Path))
	return out, copyFile(t.Path, out, lim.MaxBytes)
}

func copyFile(src, dst string, max int64) (retErr error) {
	in, err := archive.OpenRegular(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err := out.Close(); retErr == nil {
			retErr = err
		}
		if retErr != nil {
			os.Remove(dst)
		}
	}()
	n, err := io.Copy(out, io.LimitReader(in, max+1))
	if err != nil {
		return err
	}
	if n > max {
		return fmt.Errorf("over %d bytes: %w", max, ErrTooLarge)
	}
	return nil
}

// readManifest checks the archive and returns the name and version its
// manifest declares, or dynamic for a PyPI source archive without one.
func readManifest(eco, file string, lim archive.Limits) (name, version string, dynamic bool, err error) {
	if eco == NPM {
		m, err := npm.Check(file, lim)
		return m.Name, m.Version, false, err
	}
	m, err := pypi.Check(file, lim)
	return m.Name, m.Version, m.Dynamic, err
}
