package pypi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// maxDists bounds how many distributions Prepare downloads.
const maxDists = 500

var reqRE = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(\(?[^;@]*\)?)?\s*(@[^;]*)?\s*(;.*)?$`)

// Requirement is the part of a PEP 508 requirement Prepare uses.
type Requirement struct {
	Name       string
	Specifiers []string // e.g. ">=1.0", "!=1.3"
	Marker     string
	URL        bool // a direct reference (NAME @ URL)
}

// ParseRequirement parses a PEP 508 requirement string.
func ParseRequirement(s string) (Requirement, error) {
	m := reqRE.FindStringSubmatch(s)
	if m == nil || ValidName(m[1]) != nil {
		return Requirement{}, fmt.Errorf("requirement %q: not PEP 508", s)
	}
	r := Requirement{Name: m[1], URL: m[4] != "", Marker: strings.TrimSpace(strings.TrimPrefix(m[5], ";"))}
	spec := strings.Trim(strings.TrimSpace(m[3]), "()")
	for _, p := range strings.Split(spec, ",") {
		if p = strings.ReplaceAll(p, " ", ""); p != "" {
			r.Specifiers = append(r.Specifiers, p)
		}
	}
	return r, nil
}

// Allows reports whether version v satisfies every specifier of r.
func (r Requirement) Allows(v Version, raw string) bool {
	for _, s := range r.Specifiers {
		if !allows(s, v, raw) {
			return false
		}
	}
	return true
}

func allows(spec string, v Version, raw string) bool {
	var op string
	for _, o := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(spec, o) {
			op = o
			break
		}
	}
	want := spec[len(op):]
	if op == "===" {
		return raw == want
	}
	if prefix, ok := strings.CutSuffix(want, ".*"); ok && (op == "==" || op == "!=") {
		p, err := ParseVersion(prefix)
		if err != nil {
			return false
		}
		match := v.epoch == p.epoch
		for i, n := range p.release {
			var got int
			if i < len(v.release) {
				got = v.release[i]
			}
			match = match && got == n
		}
		return match == (op == "==")
	}
	w, err := ParseVersion(want)
	if err != nil {
		return false
	}
	c := v.Compare(w)
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<": // a pre-release of the bound itself is not below it (PEP 440)
		base := Version{epoch: v.epoch, release: v.release, pre: [2]int{1, 0}, post: -1, dev: w.dev}
		return c < 0 && (w.Prerelease() || !v.Prerelease() || base.Compare(w) != 0)
	case "~=":
		if c < 0 || len(w.release) < 2 {
			return false
		}
		upper := Version{epoch: w.epoch, release: append([]int(nil), w.release[:len(w.release)-1]...), pre: [2]int{-3, 0}, post: -1}
		upper.release[len(upper.release)-1]++
		return v.Compare(upper) < 0
	}
	return false
}

// Prepare downloads into cacheDir, a pip --find-links directory, the
// distributions that the requirements of m need, transitively through the
// Requires-Dist of what it downloads (wheels' METADATA, sdists' PKG-INFO
// or egg-info requires.txt; an sdist without either brings no further
// dependencies, since its setup.py is never run on the host). For each it
// takes the highest final release (pre-releases only when nothing else
// fits) that satisfies the specifiers and has a file the sandbox's pip
// can use. Requirements only for extras, and direct URL references, are
// left out; environment markers are not evaluated, so a dependency for
// another platform may be downloaded too. A dependency that cannot be
// resolved is logged and skipped (the sandbox's install then reports it);
// only cancellation is returned.
func Prepare(ctx context.Context, ix Index, m Meta, cacheDir string, lim archive.Limits) error {
	queue := append([]string(nil), m.Requires...)
	seen := map[string]bool{Normalize(m.Name): true}
	got := 0
	for len(queue) > 0 && got < maxDists {
		raw := queue[0]
		queue = queue[1:]
		r, err := ParseRequirement(raw)
		if err != nil || r.URL || strings.Contains(r.Marker, "extra") || seen[Normalize(r.Name)] {
			if err != nil {
				slog.WarnContext(ctx, "pypi requirement skipped", "requirement", raw, "err", err)
			}
			continue
		}
		seen[Normalize(r.Name)] = true
		file, err := fetchBest(ctx, ix, r, cacheDir, lim)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			slog.WarnContext(ctx, "pypi dependency not cached", "package", m.Name, "requirement", raw, "err", err)
			continue
		}
		got++
		dm, err := Check(file, lim)
		if err != nil {
			slog.WarnContext(ctx, "pypi dependency unreadable", "file", filepath.Base(file), "err", err)
			continue
		}
		queue = append(queue, dm.Requires...)
	}
	return nil
}

func fetchBest(ctx context.Context, ix Index, r Requirement, dir string, lim archive.Limits) (string, error) {
	files, err := ix.Files(ctx, r.Name)
	if err != nil {
		return "", err
	}
	var best, bestPre *Version
	var bestRaw, bestPreRaw string
	for _, f := range files {
		d, ok := ParseFilename(f.Filename)
		if !ok || f.Yanked {
			continue
		}
		v, err := ParseVersion(d.Version)
		if err != nil || !r.Allows(v, d.Version) {
			continue
		}
		if _, ok := Pick(files, r.Name, d.Version); !ok {
			continue
		}
		if v.Prerelease() {
			if bestPre == nil || v.Compare(*bestPre) > 0 {
				bestPre, bestPreRaw = &v, d.Version
			}
		} else if best == nil || v.Compare(*best) > 0 {
			best, bestRaw = &v, d.Version
		}
	}
	if best == nil {
		best, bestRaw = bestPre, bestPreRaw
	}
	if best == nil {
		return "", fmt.Errorf("no usable file satisfies %s%s: %w", r.Name, strings.Join(r.Specifiers, ","), archive.ErrNotFound)
	}
	f, _ := Pick(files, r.Name, bestRaw)
	out := filepath.Join(dir, filepath.Base(f.Filename))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return ix.Download(ctx, f, dir, lim)
}
