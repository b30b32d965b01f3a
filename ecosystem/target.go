package ecosystem

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// Ecosystem names.
const (
	NPM  = "npm"
	PyPI = "pypi"
)

// ErrBadSpec: the string given to Parse is not a package spec or an
// artifact path fumehood understands.
var ErrBadSpec = errors.New("bad package spec")

// ValidName checks that name is a package name of eco (npm or pypi).
// Errors wrap ErrBadSpec.
func ValidName(eco, name string) error {
	var err error
	switch eco {
	case NPM:
		err = npm.ValidName(name)
	case PyPI:
		err = pypi.ValidName(name)
	default:
		err = fmt.Errorf("ecosystem %q: want npm or pypi", eco)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrBadSpec)
	}
	return nil
}

// CanonicalName is the name that identifies a package of eco in records
// and de-duplication: PEP 503 normalized for PyPI (Foo_Bar and foo-bar
// are one project), as given for npm (whose names are case-sensitive).
func CanonicalName(eco, name string) string {
	if eco == PyPI {
		return pypi.Normalize(name)
	}
	return name
}

// Target is what to analyse: a registry package version (Path "") or a
// local artifact file or source directory (Path set; Name and Version
// are then read from it by Fetch, or, when given too, checked against
// it).
type Target struct {
	Ecosystem, Name, Version string
	Path                     string
}

// String returns t as Parse accepts it.
func (t Target) String() string {
	switch {
	case t.Path != "":
		return t.Path
	case t.Ecosystem == PyPI:
		return "pypi:" + t.Name + "==" + t.Version
	default:
		return t.Ecosystem + ":" + t.Name + "@" + t.Version
	}
}

// Parse reads "npm:NAME@VERSION", "pypi:NAME==VERSION", or the path of an
// artifact (.tgz: npm; .whl: pypi; .tar.gz: whichever manifest it holds)
// or of a package source directory (npm if it has package.json, pypi if
// setup.py, setup.cfg or pyproject.toml). Versions must be exact. Errors
// wrap ErrBadSpec.
func Parse(s string) (Target, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "npm:"):
		return parseNPM(s[len("npm:"):])
	case strings.HasPrefix(s, "pypi:"):
		return parsePyPI(s[len("pypi:"):])
	case s == "":
		return Target{}, fmt.Errorf("empty spec: %w", ErrBadSpec)
	}
	return parsePath(s)
}

func parseNPM(s string) (Target, error) {
	i := strings.LastIndex(s, "@")
	if i <= 0 {
		return Target{}, fmt.Errorf("npm:%s: missing @VERSION, an exact version is required (npm:NAME@1.2.3): %w", s, ErrBadSpec)
	}
	name, version := s[:i], s[i+1:]
	if err := npm.ValidName(name); err != nil {
		return Target{}, fmt.Errorf("npm:%s: %v: %w", s, err, ErrBadSpec)
	}
	if err := npm.ValidVersion(version); err != nil {
		return Target{}, fmt.Errorf("npm:%s: %v: %w", s, err, ErrBadSpec)
	}
	return Target{Ecosystem: NPM, Name: name, Version: version}, nil
}

func parsePyPI(s string) (Target, error) {
	name, version, ok := strings.Cut(s, "==")
	if !ok {
		if i := strings.IndexAny(s, "<>!~=@"); i >= 0 {
			return Target{}, fmt.Errorf("pypi:%s: only exact versions are accepted (pypi:NAME==1.2.3), not ranges: %w", s, ErrBadSpec)
		}
		return Target{}, fmt.Errorf("pypi:%s: missing ==VERSION, an exact version is required (pypi:NAME==1.2.3): %w", s, ErrBadSpec)
	}
	name, version = strings.TrimSpace(name), strings.TrimSpace(version)
	if strings.HasPrefix(version, "=") {
		return Target{}, fmt.Errorf("pypi:%s: arbitrary equality (===) is not accepted, use ==: %w", s, ErrBadSpec)
	}
	if err := pypi.ValidName(name); err != nil {
		return Target{}, fmt.Errorf("pypi:%s: %v: %w", s, err, ErrBadSpec)
	}
	if err := pypi.ValidVersion(version); err != nil {
		return Target{}, fmt.Errorf("pypi:%s: %v: %w", s, err, ErrBadSpec)
	}
	return Target{Ecosystem: PyPI, Name: name, Version: version}, nil
}

func parsePath(s string) (Target, error) {
	abs, err := filepath.Abs(s)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %v: %w", s, err, ErrBadSpec)
	}
	// The path named is followed once, here; nothing inside it is: a
	// manifest or member that is a link or not a regular file is refused
	// when it is read (archive.OpenRegular).
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return Target{}, fmt.Errorf("%q is neither npm:NAME@VERSION, pypi:NAME==VERSION nor a readable artifact or directory: %v: %w", s, err, ErrBadSpec)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Target{}, fmt.Errorf("%q is neither npm:NAME@VERSION, pypi:NAME==VERSION nor a readable artifact or directory: %v: %w", s, err, ErrBadSpec)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return Target{}, fmt.Errorf("%s is not a regular file or a directory: %w", s, ErrBadSpec)
	}
	if st.IsDir() {
		exists := func(n string) bool { _, err := os.Lstat(filepath.Join(abs, n)); return err == nil }
		switch {
		case exists("package.json"):
			return Target{Ecosystem: NPM, Path: abs}, nil
		case exists("setup.py") || exists("pyproject.toml") || exists("setup.cfg"):
			return Target{Ecosystem: PyPI, Path: abs}, nil
		}
		return Target{}, fmt.Errorf("directory %s has no package.json, setup.py or pyproject.toml: %w", s, ErrBadSpec)
	}
	switch {
	case strings.HasSuffix(abs, ".whl"):
		return Target{Ecosystem: PyPI, Path: abs}, nil
	case strings.HasSuffix(abs, ".tgz"):
		return Target{Ecosystem: NPM, Path: abs}, nil
	case strings.HasSuffix(abs, ".tar.gz"):
		eco, err := sniffTarGz(abs)
		if err != nil {
			return Target{}, fmt.Errorf("%s: %v: %w", s, err, ErrBadSpec)
		}
		return Target{Ecosystem: eco, Path: abs}, nil
	}
	return Target{}, fmt.Errorf("%s: an artifact is a .tgz, .tar.gz or .whl file: %w", s, ErrBadSpec)
}

// sniffLimit bounds the members sniffTarGz looks at.
const sniffLimit = 10000

// sniffTarGz tells an npm tarball from an sdist by the manifest one
// level down: package.json, or PKG-INFO (else setup.py or pyproject.toml:
// a source archive whose metadata its build backend computes). Only
// headers are read.
func sniffTarGz(p string) (string, error) {
	f, err := archive.OpenRegular(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	python := false
	for i := 0; i < sniffLimit; i++ {
		h, err := tr.Next()
		if err != nil {
			break
		}
		dir, base := path.Split(strings.TrimPrefix(h.Name, "./"))
		if strings.Count(dir, "/") != 1 {
			continue
		}
		switch base {
		case "package.json":
			return NPM, nil
		case "PKG-INFO":
			return PyPI, nil
		case "setup.py", "pyproject.toml":
			python = true
		}
	}
	if python {
		return PyPI, nil
	}
	return "", errors.New("neither package.json nor PKG-INFO, setup.py or pyproject.toml one level down: cannot tell npm from pypi")
}
