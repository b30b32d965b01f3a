package npm

import (
	"encoding/json"
)

// InstallArgv installs the tarball at artifact offline from the npm
// cache at cache, with lifecycle scripts' output shown (npm 9 hides it
// otherwise). registry must be the one the cache was filled from: npm
// keys cached packuments by URL.
func InstallArgv(artifact, cache, registry string) []string {
	argv := []string{"npm", "install", "--offline", "--no-audit", "--no-fund", "--foreground-scripts", "--cache", cache}
	if registry != "" {
		argv = append(argv, "--registry", registry)
	}
	return append(argv, artifact)
}

// importScript loads the package twice in separate node processes:
// CommonJS require() and an ESM import(), so each entry point runs in a
// fresh interpreter. It exits non-zero when either failed.
const importScript = `node -e "$1"; cjs=$?; node --input-type=module -e "$2"; esm=$?; exit $((cjs | esm))`

// ImportArgv loads the package name from the project directory (the
// current directory of the command).
func ImportArgv(name string) []string {
	q, _ := json.Marshal(name) // a string always marshals
	return []string{"sh", "-c", importScript, "sh", "require(" + string(q) + ")", "await import(" + string(q) + ")"}
}
