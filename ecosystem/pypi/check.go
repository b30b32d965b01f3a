package pypi

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// Meta is what fumehood reads from a distribution without running it.
type Meta struct {
	Name, Version string
	// Requires are the requirement strings (PEP 508) the distribution
	// declares: Requires-Dist, or an sdist's egg-info requires.txt.
	Requires []string
	// Modules are the top-level import names it installs: top_level.txt,
	// else derived from RECORD or the archive's package directories.
	Modules []string
	// Dynamic is set for a source archive without PKG-INFO (a source
	// tree whose setup.py computes its name or version): Name and Version
	// are empty until the build backend's metadata step tells them (see
	// MetadataArgv, ParseReport).
	Dynamic bool
	// Build is, for an sdist, what pip runs to build it (package code):
	// the build backend pyproject.toml declares, else "setup.py". Wheels
	// install without running anything ("").
	Build string

	// root is an sdist's top directory.
	root string
}

// BuildFiles are the files at an sdist's root its build runs or reads
// its configuration from.
var BuildFiles = []string{"pyproject.toml", "setup.cfg", "setup.py"}

// BuildDigests reads the sdist at file, whose metadata Check returned as
// m, once more and returns the BuildFiles it has at its root with their
// digests (archive.DigestTarGz: "sha256:<hex>" of the content, or
// "link:<target>" for a link, never followed), by name. A wheel builds
// nothing: nil.
func BuildDigests(file string, lim archive.Limits, m Meta) (map[string]string, error) {
	if m.Build == "" {
		return nil, nil
	}
	d, err := archive.DigestTarGz(file, lim, func(n string) bool {
		dir, base := path.Split(n)
		return dir == m.root+"/" && slices.Contains(BuildFiles, base)
	})
	if err != nil {
		return nil, fmt.Errorf("build files: %w", err)
	}
	out := make(map[string]string, len(d))
	for n, digest := range d {
		out[path.Base(n)] = digest
	}
	return out, nil
}

// buildBackendRE finds build-system.build-backend in pyproject.toml (the
// key is only valid in that table).
var buildBackendRE = regexp.MustCompile(`(?m)^\s*build-backend\s*=\s*["']([^"']+)["']`)

// legacyBackend is what pip builds an sdist with when pyproject.toml
// declares no backend and there is no setup.py either.
const legacyBackend = "setuptools.build_meta:__legacy__"

// sdistBuild names what builds an sdist, from its root's pyproject.toml
// (nil when absent) and whether it has a setup.py.
func sdistBuild(pyproject []byte, hasSetupPy bool) string {
	if m := buildBackendRE.FindSubmatch(pyproject); m != nil {
		return string(m[1])
	}
	if hasSetupPy {
		return "setup.py"
	}
	return legacyBackend
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Check checks the wheel or sdist at file (see archive.CheckTarGz and
// archive.CheckZip) and reads its metadata: the wheel's
// *.dist-info/METADATA or the sdist's PKG-INFO must exist and name a
// valid name and version.
func Check(file string, lim archive.Limits) (Meta, error) {
	if strings.HasSuffix(file, ".whl") {
		return checkWheel(file, lim)
	}
	if strings.HasSuffix(file, ".tar.gz") {
		return checkSdist(file, lim)
	}
	return Meta{}, fmt.Errorf("%s: a Python artifact is a .whl or .tar.gz: %w", path.Base(file), archive.ErrBadArtifact)
}

func checkWheel(file string, lim archive.Limits) (Meta, error) {
	c, err := archive.CheckZip(file, lim, func(n string) bool {
		dir, base := path.Split(n)
		return strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1 &&
			(base == "METADATA" || base == "top_level.txt" || base == "RECORD")
	})
	if err != nil {
		return Meta{}, err
	}
	var meta, top, record []byte
	for n, b := range c.Files {
		switch path.Base(n) {
		case "METADATA":
			meta = b
		case "top_level.txt":
			top = b
		case "RECORD":
			record = b
		}
	}
	if meta == nil {
		return Meta{}, fmt.Errorf("wheel has no *.dist-info/METADATA: %w", archive.ErrBadArtifact)
	}
	m, err := parseMetadata(meta)
	if err != nil {
		return Meta{}, err
	}
	switch {
	case top != nil:
		m.Modules = lines(top)
	case record != nil:
		var names []string
		for _, l := range lines(record) {
			names = append(names, strings.SplitN(l, ",", 2)[0])
		}
		m.Modules = modulesFrom(names, "")
	default:
		m.Modules = modulesFrom(c.Names, "")
	}
	m.Modules = identifiers(m.Modules)
	return m, nil
}

func checkSdist(file string, lim archive.Limits) (Meta, error) {
	want := func(n string) bool {
		parts := strings.Split(n, "/")
		switch {
		case len(parts) == 2:
			return parts[1] == "PKG-INFO" || parts[1] == "pyproject.toml"
		case len(parts) == 3 || len(parts) == 4 && parts[1] == "src":
			return strings.HasSuffix(parts[len(parts)-2], ".egg-info") &&
				(parts[len(parts)-1] == "top_level.txt" || parts[len(parts)-1] == "requires.txt")
		}
		return false
	}
	c, err := archive.CheckTarGz(file, lim, want)
	if err != nil {
		return Meta{}, err
	}
	var meta, top, requires, pyproject []byte
	var root string
	for n, b := range c.Files {
		switch path.Base(n) {
		case "PKG-INFO":
			meta, root = b, path.Dir(n)
		case "pyproject.toml":
			pyproject = b
		case "top_level.txt":
			top = b
		case "requires.txt":
			requires = b
		}
	}
	var m Meta
	if meta == nil {
		if root = sourceRoot(c.Names); root == "" {
			return Meta{}, fmt.Errorf("sdist has no PKG-INFO, setup.py or pyproject.toml at its top: %w", archive.ErrBadArtifact)
		}
		m.Dynamic = true
	} else if m, err = parseMetadata(meta); err != nil {
		return Meta{}, err
	}
	m.Build, m.root = sdistBuild(pyproject, slices.Contains(c.Names, root+"/setup.py")), root
	if len(m.Requires) == 0 && requires != nil {
		m.Requires = parseRequiresTxt(requires)
	}
	if top != nil {
		m.Modules = lines(top)
	} else {
		var names []string
		for _, n := range c.Names {
			if r, ok := strings.CutPrefix(n, root+"/"); ok {
				names = append(names, r)
			}
		}
		m.Modules = modulesFrom(names, "src/")
	}
	m.Modules = identifiers(m.Modules)
	return m, nil
}

// sourceRoot is the top directory of a source archive without PKG-INFO
// that holds setup.py or pyproject.toml ("" when none does).
func sourceRoot(names []string) string {
	for _, n := range names {
		dir, base := path.Split(n)
		if (base == "setup.py" || base == "pyproject.toml") && dir != "" && strings.Count(dir, "/") == 1 {
			return strings.TrimSuffix(dir, "/")
		}
	}
	return ""
}

// parseMetadata reads Name, Version and Requires-Dist from core metadata
// (RFC 822 style headers up to the first blank line).
func parseMetadata(b []byte) (Meta, error) {
	var m Meta
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		l := s.Text()
		if strings.TrimSpace(l) == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			m.Name = v
		case "version":
			m.Version = v
		case "requires-dist":
			m.Requires = append(m.Requires, v)
		}
	}
	if err := ValidName(m.Name); err != nil {
		return Meta{}, fmt.Errorf("metadata: %v: %w", err, archive.ErrBadArtifact)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return Meta{}, fmt.Errorf("metadata: %v: %w", err, archive.ErrBadArtifact)
	}
	return m, nil
}

// parseRequiresTxt reads setuptools' requires.txt: unconditional lines,
// then "[extra]" or "[extra:marker]" sections. Extras are left out;
// marker-only sections ("[:marker]") are kept (their marker is dropped,
// so a dependency may be fetched that the sandbox does not need).
func parseRequiresTxt(b []byte) []string {
	var out []string
	keep := true
	for _, l := range lines(b) {
		if strings.HasPrefix(l, "[") {
			keep = strings.HasPrefix(l, "[:")
			continue
		}
		if keep {
			out = append(out, l)
		}
	}
	return out
}

// modulesFrom derives top-level import names from archive member names
// (relative to the distribution root): directories with an __init__.py
// and top-level .py modules, also under srcDir when given. Metadata
// directories and setup.py are not modules.
func modulesFrom(names []string, srcDir string) []string {
	seen := map[string]bool{}
	for _, n := range names {
		if srcDir != "" {
			n = strings.TrimPrefix(n, srcDir)
		}
		parts := strings.Split(n, "/")
		switch {
		case len(parts) == 2 && parts[1] == "__init__.py":
			seen[parts[0]] = true
		case len(parts) == 1 && strings.HasSuffix(n, ".py") && n != "setup.py" && n != "conftest.py":
			seen[strings.TrimSuffix(n, ".py")] = true
		case len(parts) == 1 && (strings.HasSuffix(n, ".so") || strings.HasSuffix(n, ".pyd")):
			seen[strings.SplitN(n, ".", 2)[0]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// identifiers keeps the unique valid Python identifiers of names, sorted.
func identifiers(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if identRE.MatchString(n) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// WheelName returns the PEP 427 file name of the wheel at file, whatever
// the file is called: the NAME-VERSION of its .dist-info directory and
// the tags its WHEEL file lists (compressed per tag position, as wheel
// builders name files).
func WheelName(file string, lim archive.Limits) (string, error) {
	c, err := archive.CheckZip(file, lim, func(n string) bool {
		dir, base := path.Split(n)
		return strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1 && base == "WHEEL"
	})
	if err != nil {
		return "", err
	}
	if len(c.Files) != 1 {
		return "", fmt.Errorf("wheel has %d *.dist-info/WHEEL files, want one: %w", len(c.Files), archive.ErrBadArtifact)
	}
	var n string
	var b []byte
	for n, b = range c.Files {
		break // the one
	}
	stem := strings.TrimSuffix(path.Dir(n), ".dist-info")
	var tags [3][]string
	for _, l := range lines(b) {
		k, v, ok := strings.Cut(l, ":")
		parts := strings.Split(strings.TrimSpace(v), "-")
		if !ok || strings.TrimSpace(k) != "Tag" || len(parts) != 3 {
			continue
		}
		for i, p := range parts {
			if !slices.Contains(tags[i], p) {
				tags[i] = append(tags[i], p)
			}
		}
	}
	if tags[0] == nil || strings.Count(stem, "-") != 1 {
		return "", fmt.Errorf("wheel %s: no tags or a bad .dist-info name: %w", stem, archive.ErrBadArtifact)
	}
	return stem + "-" + strings.Join(tags[0], ".") + "-" + strings.Join(tags[1], ".") + "-" + strings.Join(tags[2], ".") + ".whl", nil
}
