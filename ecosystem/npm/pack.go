package npm

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// alwaysIgnored are names npm pack never includes, at any depth.
var alwaysIgnored = []string{
	".git", "CVS", ".svn", ".hg", "node_modules", ".npmrc", ".DS_Store",
	"npm-debug.log", ".lock-wscript", "config.gypi", "*.orig", ".*.swp", "._*", ".wafpickle-*",
}

// rootIgnored are names npm pack leaves out at the package root only;
// sample.json is the corpus's description of a sample, not package content.
var rootIgnored = []string{"package-lock.json", "sample.json"}

// Pack packs the package source directory dir into workDir the way npm
// pack would: members under "package/", the "files" list of package.json
// honoured (package.json, README, LICENSE and "main" always included),
// npm's always-ignored names left out, symbolic links and special files
// skipped. .npmignore and .gitignore are not read, so a pack may hold more
// files than npm's. It returns the tarball's path, checked like a
// downloaded one.
func Pack(dir, workDir string, lim archive.Limits) (string, Manifest, error) {
	b, err := archive.ReadRegular(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", Manifest{}, fmt.Errorf("read package.json: %v: %w", err, archive.ErrBadArtifact)
	}
	m, err := parseManifest(b)
	if err != nil {
		return "", Manifest{}, err
	}
	var members []archive.Member
	var total int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !m.included(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if len(members) >= lim.MaxFiles || total > lim.MaxBytes*archive.ExpandFactor {
			return fmt.Errorf("source tree over %d files or %d bytes: %w", lim.MaxFiles, lim.MaxBytes*archive.ExpandFactor, archive.ErrTooLarge)
		}
		members = append(members, archive.Member{Name: "package/" + rel, Path: p})
		return nil
	})
	if err != nil {
		return "", Manifest{}, fmt.Errorf("pack %s: %w", filepath.Base(dir), err)
	}
	out := filepath.Join(workDir, TarballName(m.Name, m.Version))
	if err := archive.WriteTarGz(out, members, lim); err != nil {
		return "", Manifest{}, fmt.Errorf("pack %s: %w", filepath.Base(dir), err)
	}
	m, err = Check(out, lim)
	return out, m, err
}

func ignored(rel string) bool {
	base := path.Base(rel)
	for _, pat := range alwaysIgnored {
		if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	if !strings.Contains(rel, "/") {
		for _, n := range rootIgnored {
			if rel == n {
				return true
			}
		}
	}
	return false
}

// included reports whether the file rel belongs in the pack under the
// "files" list: an entry names a file, a directory (everything under
// it), or a glob ("**" spans directories) matched against the path or
// any of its parent directories.
func (m Manifest) included(rel string) bool {
	if m.Files == nil || !strings.Contains(rel, "/") && alwaysIncluded(rel, m.Main) {
		return true
	}
	if rel == path.Clean(strings.TrimPrefix(m.Main, "./")) {
		return true
	}
	for _, f := range m.Files {
		f = path.Clean(strings.TrimPrefix(strings.TrimPrefix(f, "./"), "/"))
		pat := strings.Split(f, "/")
		for p := rel; p != "."; p = path.Dir(p) {
			if f == "." || globMatch(pat, strings.Split(p, "/")) {
				return true
			}
		}
	}
	return false
}

// globMatch matches path segments against pattern segments, where "**"
// matches any number of segments.
func globMatch(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if globMatch(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], segs[0])
	return ok && globMatch(pat[1:], segs[1:])
}

func alwaysIncluded(base, main string) bool {
	l := strings.ToLower(base)
	return base == "package.json" || strings.HasPrefix(l, "readme") || strings.HasPrefix(l, "license") ||
		strings.HasPrefix(l, "licence") || strings.HasPrefix(l, "changelog") || base == strings.TrimPrefix(main, "./")
}
