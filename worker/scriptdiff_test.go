package worker

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/report"
	"github.com/fumehood/fumehood/trace"
)

// scriptsOf analyses, as far as its declared scripts go, the package of
// ecosystem eco whose files are under dir at version v: its tarball (an
// sdist for PyPI), the scripts its commands declare with their files,
// and their coverage (none ran).
func scriptsOf(t *testing.T, eco, dir, v string) *analysis.Analysis {
	t.Helper()
	members := map[string]string{}
	top, file := "package/", "demo-"+v+".tgz"
	if eco == ecosystem.PyPI {
		top, file = "demo-"+v+"/", "demo-"+v+".tar.gz"
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		members[top+filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tgz := writeTarGz(t, t.TempDir(), file, members)
	cmds, err := ecosystem.Commands(ecosystem.Artifact{Ecosystem: eco, Name: "demo", Version: v, File: tgz}, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	return &analysis.Analysis{ID: "demo@" + v, Package: analysis.Package{Ecosystem: eco, Name: "demo", Version: v},
		Coverage: coverage(cmds, nil, &trace.Trace{})}
}

// TestScriptDiffGolden compares two versions of a package on their
// install scripts, from their tarballs (testdata/scriptdiff/CASE/from
// and to): a script is changed when its command or the content of the
// files it runs changed, however the command reaches them, and a
// version recorded before the files were kept is said to be
// uncompared, not changed.
func TestScriptDiffGolden(t *testing.T) {
	tests := []struct {
		name string
		eco  string // npm when ""
		// oldFrom: the earlier version was recorded before script files
		// were kept.
		oldFrom bool
	}{
		{name: "install-js-changed"},
		{name: "unchanged"},
		{name: "evasion-extensionless-subdir"},
		{name: "evasion-respelled"},
		{name: "evasion-main"},
		{name: "evasion-inline-require"},
		{name: "evasion-cd"},
		{name: "no-package-file"},
		{name: "fallback-added"},
		{name: "old-record", oldFrom: true},
		{name: "pypi-setup-py-changed", eco: ecosystem.PyPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "scriptdiff", tt.name)
			eco := cmp.Or(tt.eco, ecosystem.NPM)
			from, to := scriptsOf(t, eco, filepath.Join(dir, "from"), "1.0.0"), scriptsOf(t, eco, filepath.Join(dir, "to"), "1.0.1")
			if tt.oldFrom {
				for i := range from.Coverage.Scripts {
					from.Coverage.Scripts[i].Files, from.Coverage.Scripts[i].FilesDigest = nil, ""
				}
			}
			empty := &trace.Trace{}
			c := report.Diff(from.ID, report.Summarise(from, empty, report.Build(from, empty)), to.ID, report.Summarise(to, empty, report.Build(to, empty)))
			checkGolden(t, dir+".json", struct {
				Scripts    analysis.ScriptChanges `json:"scripts"`
				NewScripts []string               `json:"new_scripts"`
			}{c.Scripts, report.NewScripts(from, empty, to, empty)})
		})
	}
}
