package pypi

import "strings"

// InstallArgv installs the artifact at artifact for the user from the
// find-links directory cache only, using the setuptools of the image.
func InstallArgv(artifact, cache string) []string {
	return []string{"python3", "-m", "pip", "install", "--user", "--no-index", "--find-links", cache, "--no-build-isolation", artifact}
}

// InstallEnv lets pip install into the user site on Debian (PEP 668).
var InstallEnv = []string{"PIP_BREAK_SYSTEM_PACKAGES=1"}

// importProgram imports each module in turn in one fresh interpreter,
// reporting failures and going on; it exits 1 when any import failed.
const importProgram = `import importlib, sys, traceback
failed = 0
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException:
        failed = 1
        traceback.print_exc()
sys.exit(failed)
`

// ImportArgv imports modules (valid identifiers, as Check returns them)
// with python3. The names are passed as arguments, never spliced into
// the program.
func ImportArgv(modules []string) []string {
	return append([]string{"python3", "-c", strings.TrimSpace(importProgram)}, modules...)
}
