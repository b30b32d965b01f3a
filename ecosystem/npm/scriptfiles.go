package npm

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// MaxScriptFiles bounds the package files one script's files cover.
const MaxScriptFiles = 32

// ScriptFiles returns the entries of the package (names relative to its
// root, sorted) that the lifecycle script command, run by sh in the
// package's root, names: every word of the command, split at blanks and
// at shell and JavaScript punctuation (quotes, parentheses, "=", ";",
// "&", "|", ...), that is a relative path inside the package (from its
// root, or from a directory of it the command cd's to), taken as
// node resolves a main module (the file itself, or with .js, .cjs or .mjs
// added, or its index.js; "." is the package's main), and binding.gyp for
// a command that runs node-gyp. Absolute paths, paths that climb out of
// the package and flags are not package files; a name is resolved only
// against the tarball's entries, so nothing outside the package is ever
// read. At most MaxScriptFiles are returned. A command that names no
// package file (echo, node-gyp of a package without binding.gyp) gets
// none.
func (m Manifest) ScriptFiles(command string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(rel string) {
		if m.members[rel] && !seen[rel] && len(out) < MaxScriptFiles {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	// dirs are where the command's relative paths may start: the
	// package's root and each directory inside it the command cd's to.
	dirs := []string{"."}
	cd := false
	for _, w := range strings.FieldsFunc(command, scriptSeparator) {
		if path.Base(w) == "node-gyp" {
			add("binding.gyp")
		}
		after := cd
		cd = w == "cd"
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "/") || strings.HasPrefix(w, "~") {
			continue
		}
		if after {
			if d := path.Join(dirs[len(dirs)-1], w); inside(d) && len(dirs) < maxScriptDirs {
				dirs = append(dirs, d)
			}
			continue
		}
		for _, d := range dirs {
			rel := path.Join(d, w)
			if !inside(rel) {
				continue
			}
			if rel == "." {
				rel = "index"
				if m.Main != "" {
					rel = path.Clean(strings.TrimPrefix(m.Main, "./"))
				}
			}
			for _, c := range []string{rel, rel + ".js", rel + ".cjs", rel + ".mjs", rel + "/index.js"} {
				add(c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// maxScriptDirs bounds the directories a script's paths are resolved in.
const maxScriptDirs = 4

// inside reports whether the clean relative path rel stays in the
// package.
func inside(rel string) bool { return rel != ".." && !strings.HasPrefix(rel, "../") }

// scriptSeparator reports whether r separates the words of a script that
// may name files.
func scriptSeparator(r rune) bool {
	return r <= ' ' || strings.ContainsRune("'\"`()[]{},;=&|<>$\\", r)
}

// ScriptDigests reads the npm tarball at file, whose manifest Check
// returned as m, once more and returns, for each lifecycle script of m
// (LifecycleScripts), the files its command names (ScriptFiles) with
// their digests (archive.DigestTarGz: "sha256:<hex>" of the content, or
// "link:<target>" for a link, which is never followed: npm does not
// install a tarball's links at all), by script name; a script that names
// no file has an empty map.
func ScriptDigests(file string, lim archive.Limits, m Manifest) (map[string]map[string]string, error) {
	files := map[string][]string{}
	want := map[string]bool{}
	for _, s := range m.LifecycleScripts() {
		files[s.Name] = m.ScriptFiles(s.Command)
		for _, rel := range files[s.Name] {
			want[m.top+rel] = true
		}
	}
	var digests map[string]string
	if len(want) > 0 {
		var err error
		if digests, err = archive.DigestTarGz(file, lim, func(n string) bool { return want[n] }); err != nil {
			return nil, fmt.Errorf("script files: %w", err)
		}
	}
	out := make(map[string]map[string]string, len(files))
	for name, rels := range files {
		out[name] = map[string]string{}
		for _, rel := range rels {
			if d, ok := digests[m.top+rel]; ok {
				out[name][rel] = d
			}
		}
	}
	return out, nil
}
