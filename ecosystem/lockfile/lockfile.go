package lockfile

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/fumehood/fumehood/ecosystem"
)

// ErrInvalid is wrapped by every error of Parse.
var ErrInvalid = errors.New("invalid lockfile")

// MaxEntries bounds the targets one lockfile may yield.
const MaxEntries = 100000

// Parse reads the lockfile data called name (its base name chooses the
// format: *.json is npm, anything else a requirements file; a name that
// says neither is sniffed: JSON is npm) and returns its exact package
// versions, de-duplicated and sorted.
func Parse(name string, data []byte) ([]ecosystem.Target, error) {
	var (
		ts  []ecosystem.Target
		err error
	)
	if isJSON(name, data) {
		ts, err = parseNPM(data)
	} else {
		ts, err = parseRequirements(data)
	}
	if err != nil {
		if name == "" {
			name = "lockfile"
		}
		return nil, fmt.Errorf("%s: %w", path.Base(name), err)
	}
	return ts, nil
}

func isJSON(name string, data []byte) bool {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	switch {
	case strings.HasSuffix(base, ".json"):
		return true
	case strings.HasSuffix(base, ".txt"), strings.HasSuffix(base, ".in"):
		return false
	}
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
}

// invalid returns an error wrapping ErrInvalid.
func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrInvalid)
}

// add appends t to ts once (seen tracks keys) and checks it with
// ecosystem.Parse.
func add(ts []ecosystem.Target, seen map[string]bool, spec, where string) ([]ecosystem.Target, error) {
	if seen[spec] {
		return ts, nil
	}
	t, err := ecosystem.Parse(spec)
	if err != nil {
		return nil, invalid("%s: %v", where, err)
	}
	if len(ts) >= MaxEntries {
		return nil, invalid("more than %d packages", MaxEntries)
	}
	seen[spec] = true
	return append(ts, t), nil
}

func sorted(ts []ecosystem.Target) []ecosystem.Target {
	slices.SortFunc(ts, func(a, b ecosystem.Target) int {
		return cmp.Or(cmp.Compare(a.Ecosystem, b.Ecosystem), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return ts
}

type npmLock struct {
	LockfileVersion int                 `json:"lockfileVersion"`
	Packages        map[string]npmEntry `json:"packages"`
}

type npmEntry struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Resolved string `json:"resolved"`
	Link     bool   `json:"link"`
	InBundle bool   `json:"inBundle"`
	Bundled  bool   `json:"bundled"`
}

const nodeModules = "node_modules/"

func parseNPM(data []byte) ([]ecosystem.Target, error) {
	var l npmLock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, invalid("not a package-lock.json: %v", err)
	}
	switch {
	case l.LockfileVersion == 1 || (l.LockfileVersion == 0 && l.Packages == nil):
		return nil, invalid("lockfileVersion %d has no \"packages\" map; regenerate it with npm 7 or later (lockfileVersion 2 or 3)", l.LockfileVersion)
	case l.LockfileVersion > 3:
		return nil, invalid("lockfileVersion %d is not supported (2 or 3)", l.LockfileVersion)
	}
	keys := make([]string, 0, len(l.Packages))
	for k := range l.Packages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ts []ecosystem.Target
	seen := map[string]bool{}
	for _, k := range keys {
		e := l.Packages[k]
		i := strings.LastIndex(k, nodeModules)
		if k == "" || e.Link || e.InBundle || e.Bundled || i < 0 || !registryResolved(e.Resolved) {
			continue
		}
		name := k[i+len(nodeModules):]
		if e.Name != "" {
			name = e.Name
		}
		var err error
		ts, err = add(ts, seen, "npm:"+name+"@"+e.Version, fmt.Sprintf("packages[%q]", k))
		if err != nil {
			return nil, err
		}
	}
	return sorted(ts), nil
}

// registryResolved reports whether an entry's "resolved" names a
// registry tarball (or nothing, as lockfiles written with
// omit-lockfile-registry-resolved do).
func registryResolved(r string) bool {
	if r == "" {
		return true
	}
	if !strings.HasPrefix(r, "https://") && !strings.HasPrefix(r, "http://") {
		return false // git+..., file:, github:, a path
	}
	p := r
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return strings.Contains(p, "/-/") && strings.HasSuffix(p, ".tgz")
}

// requirement options that do not change which versions are installed.
var ignoredOptions = []string{
	"-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
	"--trusted-host", "--hash", "--require-hashes", "--pre", "--prefer-binary",
	"--only-binary", "--no-binary", "--use-feature", "--config-settings",
}

func parseRequirements(data []byte) ([]ecosystem.Target, error) {
	if !utf8Text(data) {
		return nil, invalid("not a text requirements file")
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var ts []ecosystem.Target
	seen := map[string]bool{}
	for i := 0; i < len(lines); i++ {
		no := i + 1
		line := lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + lines[i]
		}
		line = stripComment(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "-") {
			if err := checkOption(line); err != nil {
				return nil, fmt.Errorf("line %d: %w", no, err)
			}
			continue
		}
		spec, err := pinned(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: %w", no, clip(line), err)
		}
		if ts, err = add(ts, seen, spec, fmt.Sprintf("line %d", no)); err != nil {
			return nil, err
		}
	}
	return sorted(ts), nil
}

func utf8Text(b []byte) bool {
	return !bytes.ContainsRune(b, 0) && strings.ToValidUTF8(string(b), "\uFFFD") == string(b)
}

// stripComment drops a "#" comment (at the start or after whitespace,
// as pip does) and surrounding space.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
			break
		}
	}
	return strings.TrimSpace(line)
}

func checkOption(line string) error {
	opt, _, _ := strings.Cut(line, " ")
	opt, _, _ = strings.Cut(opt, "=")
	if slices.Contains(ignoredOptions, opt) {
		return nil
	}
	switch opt {
	case "-r", "--requirement", "-c", "--constraint":
		return invalid("%s includes another file; submit that file itself", opt)
	case "-e", "--editable":
		return invalid("%s installs from a path or repository, not a pinned version", opt)
	}
	return invalid("option %q is not understood", clip(opt))
}

// pinned turns "name[extras]==version ; marker --hash=..." into
// "pypi:name==version" or says why it is not pinned.
func pinned(line string) (string, error) {
	if i := strings.Index(line, " -"); i >= 0 { // per-requirement options: --hash=...
		line = strings.TrimSpace(line[:i])
	}
	if i := strings.Index(line, ";"); i >= 0 { // environment marker
		line = strings.TrimSpace(line[:i])
	}
	if strings.Contains(line, "://") || strings.Contains(line, " @ ") || strings.HasPrefix(line, ".") || strings.HasPrefix(line, "/") {
		return "", invalid("a URL or path requirement is not a pinned version (give name==version)")
	}
	i := strings.IndexAny(line, "=<>!~,[ (")
	if i < 0 {
		return "", invalid("no version (give name==version)")
	}
	name, rest := line[:i], strings.TrimSpace(line[i:])
	if strings.HasPrefix(rest, "[") { // extras
		j := strings.Index(rest, "]")
		if j < 0 {
			return "", invalid("unclosed extras")
		}
		rest = strings.TrimSpace(rest[j+1:])
	}
	switch {
	case strings.HasPrefix(rest, "==="):
		return "", invalid("arbitrary equality (===) is not a pinned version (give name==version)")
	case !strings.HasPrefix(rest, "=="):
		return "", invalid("not pinned: only name==version is accepted, not ranges")
	}
	version := strings.TrimSpace(rest[2:])
	if version == "" || strings.ContainsAny(version, "*,<>=!~ ") {
		return "", invalid("not pinned: %q is a range or wildcard, give an exact version", clip(version))
	}
	return "pypi:" + name + "==" + version, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
