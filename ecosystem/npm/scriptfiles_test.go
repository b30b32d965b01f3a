package npm

import (
	"fmt"
	"slices"
	"testing"
)

// ScriptFiles finds the package files a lifecycle script runs however the
// command spells them, and never a file outside the package.
func TestScriptFiles(t *testing.T) {
	m := Manifest{Main: "./lib/main.js", members: map[string]bool{}}
	for _, n := range []string{"package.json", "install.js", "lib", "lib/main.js", "lib/setup.cjs", "scripts/post/index.js",
		"binding.gyp", "src/addon.cc", "etc/passwd"} {
		m.members[n] = true
	}
	var many string
	for i := range MaxScriptFiles + 5 {
		m.members[fmt.Sprintf("f%02d.js", i)] = true
		many += fmt.Sprintf(" node f%02d.js &&", i)
	}
	tests := []struct {
		command string
		want    []string
	}{
		{"node install.js", []string{"install.js"}},
		{"node ./install.js", []string{"install.js"}},
		{"node install", []string{"install.js"}},
		{`node "./lib/../install.js"`, []string{"install.js"}},
		{"node lib/setup", []string{"lib/setup.cjs"}},
		{"node scripts/post", []string{"scripts/post/index.js"}},
		{"node .", []string{"lib/main.js"}},
		{`node -e "require('./install.js')"`, []string{"install.js"}},
		{"NODE_OPTIONS=--require=./install.js npm run x", []string{"install.js"}},
		{"node-gyp rebuild", []string{"binding.gyp"}},
		{"prebuild-install || node-gyp rebuild", []string{"binding.gyp"}},
		{"node install.js; sh ./install.js | tee log", []string{"install.js"}},
		{"cd scripts/post && node index.js", []string{"scripts/post/index.js"}},
		// Every path is resolved from the root and from each directory
		// cd'd to: a file may be named that does not run, never one that
		// runs missed.
		{"cd scripts && cd post && node .", []string{"lib/main.js", "scripts/post/index.js"}},
		{"cd lib && node setup", []string{"lib/setup.cjs"}},
		// Outside the package, or no file at all: nothing.
		{"node /etc/passwd", nil},
		{"node ../../etc/passwd", nil},
		{"node ~/install.js", nil},
		{"echo done", nil},
		{"node missing.js", nil},
		// A cd out of the package adds no directory; the package's own
		// files are still the ones digested, never the host's.
		{"cd .. && node install.js", []string{"install.js"}},
		{"cd ../.. && node etc/passwd", []string{"etc/passwd"}},
		{many, nil}, // bounded: checked below
	}
	for _, tt := range tests {
		got := m.ScriptFiles(tt.command)
		if tt.command == many {
			if len(got) != MaxScriptFiles {
				t.Errorf("a command naming %d files: %d files, want %d", MaxScriptFiles+5, len(got), MaxScriptFiles)
			}
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ScriptFiles(%q) = %q, want %q", tt.command, got, tt.want)
		}
	}
}
