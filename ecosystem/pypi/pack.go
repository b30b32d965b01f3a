package pypi

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

var (
	sectionRE = regexp.MustCompile(`^\s*\[([^\]]+)\]\s*$`)
	kvRE      = regexp.MustCompile(`^\s*(name|version)\s*=\s*["']?([^"'#\s]+)["']?\s*(#.*)?$`)
	setupKwRE = regexp.MustCompile(`\b(name|version)\s*=\s*["']([^"']+)["']`)
)

// skipped are names never packed, at any depth.
var skipped = []string{".git", ".hg", ".svn", "__pycache__", "*.pyc", "node_modules", ".tox", ".nox", ".venv", ".eggs"}

// ErrNoStaticMetadata: a source tree's name or version is computed (by
// setup.py, or declared dynamic), so only its build backend can tell it.
var ErrNoStaticMetadata = errors.New("no static name and version")

// StaticNameVersion reads the distribution name and version from the
// source tree at dir without running anything: pyproject.toml's
// [project] table, else setup.cfg's [metadata], else string literals
// passed as name= and version= to setup() in setup.py. A name or version
// that is computed (dynamic, read from a file) cannot be read: the error
// then wraps ErrNoStaticMetadata and archive.ErrBadArtifact.
func StaticNameVersion(dir string) (name, version string, err error) {
	for _, src := range []struct{ file, section string }{{"pyproject.toml", "project"}, {"setup.cfg", "metadata"}} {
		b, err := archive.ReadRegular(filepath.Join(dir, src.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		in := false
		for _, l := range strings.Split(string(b), "\n") {
			if m := sectionRE.FindStringSubmatch(l); m != nil {
				in = strings.TrimSpace(m[1]) == src.section
				continue
			}
			if m := kvRE.FindStringSubmatch(l); in && m != nil {
				if m[1] == "name" && name == "" {
					name = m[2]
				} else if m[1] == "version" && version == "" {
					version = m[2]
				}
			}
		}
	}
	b, err := archive.ReadRegular(filepath.Join(dir, "setup.py"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	if err == nil && (name == "" || version == "") {
		s := string(b)
		if i := strings.LastIndex(s, "setup("); i >= 0 {
			s = s[i:]
		}
		for _, m := range setupKwRE.FindAllStringSubmatch(s, -1) {
			if m[1] == "name" && name == "" {
				name = m[2]
			} else if m[1] == "version" && version == "" {
				version = m[2]
			}
		}
	}
	if err := ValidName(name); err != nil {
		return "", "", fmt.Errorf("no static distribution name in %s: %v: %w: %w", filepath.Base(dir), err, ErrNoStaticMetadata, archive.ErrBadArtifact)
	}
	if err := ValidVersion(version); err != nil {
		return "", "", fmt.Errorf("no static version in %s: %v: %w: %w", filepath.Base(dir), err, ErrNoStaticMetadata, archive.ErrBadArtifact)
	}
	return name, version, nil
}

// sourceBase names the archive of a source tree whose name or version
// only its build backend can tell: its directory's name, made a valid
// file name.
func sourceBase(dir string) string {
	base := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, filepath.Base(dir))
	if strings.Trim(base, ".") == "" {
		return "source"
	}
	return base
}

// SdistBase is the PEP 625 base name of an sdist: NAME-VERSION with the
// name normalized and "-" replaced by "_".
func SdistBase(name, version string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_") + "-" + version
}

// Pack makes an sdist (NAME-VERSION.tar.gz) of the source tree at dir in
// workDir, as python -m build --sdist would lay it out, without running
// setup.py: every regular file under a NAME-VERSION/ root, except VCS
// directories, caches, node_modules and sample.json beside the manifest,
// plus a PKG-INFO written from the static name and version (kept when
// the tree has its own). Symbolic links are skipped. A tree whose name or
// version is computed is packed under its directory's name without
// PKG-INFO; its Meta is Dynamic.
func Pack(dir, workDir string, lim archive.Limits) (string, Meta, error) {
	name, version, err := StaticNameVersion(dir)
	dynamic := errors.Is(err, ErrNoStaticMetadata)
	if err != nil && !dynamic {
		return "", Meta{}, err
	}
	root := SdistBase(name, version)
	if dynamic {
		root = sourceBase(dir)
	}
	var members []archive.Member
	var total int64
	hasPKGInfo := false
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, pat := range skipped {
			if ok, _ := path.Match(pat, d.Name()); ok {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if rel == "sample.json" || !d.Type().IsRegular() {
			return nil
		}
		hasPKGInfo = hasPKGInfo || rel == "PKG-INFO"
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if len(members) >= lim.MaxFiles || total > lim.MaxBytes*archive.ExpandFactor {
			return fmt.Errorf("source tree over %d files or %d bytes: %w", lim.MaxFiles, lim.MaxBytes*archive.ExpandFactor, archive.ErrTooLarge)
		}
		members = append(members, archive.Member{Name: root + "/" + rel, Path: p})
		return nil
	})
	if err != nil {
		return "", Meta{}, fmt.Errorf("pack %s: %w", filepath.Base(dir), err)
	}
	if !hasPKGInfo && !dynamic {
		pkgInfo := fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
		members = append([]archive.Member{{Name: root + "/PKG-INFO", Data: []byte(pkgInfo)}}, members...)
	}
	out := filepath.Join(workDir, root+".tar.gz")
	if err := archive.WriteTarGz(out, members, lim); err != nil {
		return "", Meta{}, fmt.Errorf("pack %s: %w", filepath.Base(dir), err)
	}
	m, err := Check(out, lim)
	return out, m, err
}
