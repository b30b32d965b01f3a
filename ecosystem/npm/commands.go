package npm

import (
	"encoding/json"
)

// InstallArgv installs the tarball at artifact offline from the npm
// cache at cache, with lifecycle scripts' output shown (npm hides it
// otherwise). registry must be the one the cache was filled from: npm
// keys cached packuments by URL.
func InstallArgv(artifact, cache, registry string) []string {
	argv := []string{"npm", "install", "--offline", "--no-audit", "--no-fund", "--foreground-scripts", "--cache", cache}
	if registry != "" {
		argv = append(argv, "--registry", registry)
	}
	return append(argv, artifact)
}

// RebuildArgv runs the lifecycle scripts of every package installed in
// the current directory again, offline, as npm ci does in a CI job.
func RebuildArgv(cache string) []string {
	return []string{"npm", "rebuild", "--offline", "--foreground-scripts", "--cache", cache}
}

// importScript loads the package twice in separate node processes:
// CommonJS require() and an ESM import(), so each entry point runs in a
// fresh interpreter whose exit status is its own. It exits non-zero when
// either failed, and ends with exit so that sh starts the last node as a
// child too rather than exec'ing it.
const importScript = `node -e "$1"; cjs=$?; node --input-type=module -e "$2"; esm=$?; exit $((cjs | esm))`

// Entry is one entry point the import command loads: a node process the
// command starts as its direct child with exactly Argv.
type Entry struct {
	Name string // require or import
	Argv []string
}

// Import returns the command that loads the package name from the
// project directory (the current directory of the command), and the
// entry points it loads, each in its own node process.
func Import(name string) (argv []string, entries []Entry) {
	q, _ := json.Marshal(name) // a string always marshals
	cjs, esm := "require("+string(q)+")", "await import("+string(q)+")"
	return []string{"sh", "-c", importScript, "sh", cjs, esm}, []Entry{
		{Name: "require", Argv: []string{"node", "-e", cjs}},
		{Name: "import", Argv: []string{"node", "--input-type=module", "-e", esm}},
	}
}
