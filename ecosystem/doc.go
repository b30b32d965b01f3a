// Package ecosystem knows packages, never containers: it parses what to
// analyse (Parse), produces the artifact on the host (Fetch), fills the
// offline package cache the sandbox installs from (Prepare) and says
// which commands the sandbox runs, phase by phase (Commands).
//
// No package code ever runs on the host. Registry artifacts are verified
// against the registry's hash; every artifact, downloaded, uploaded or
// packed, is read through once and refused (ErrBadArtifact, ErrTooLarge)
// when its compression is corrupt, an entry is absolute or climbs out with
// "..", a link points outside, an entry is a device or fifo, it exceeds
// Config.MaxArtifact bytes (8 times that uncompressed) or Config.MaxFiles
// entries, or its manifest (package.json; PKG-INFO or METADATA) is missing
// or names no valid name and version. Source directories are packed
// without running anything: npm.Pack honours "files" but not .npmignore;
// pypi.Pack reads name and version statically from pyproject.toml,
// setup.cfg or literal setup() arguments and writes a minimal PKG-INFO.
// A PyPI source tree or archive whose setup.py computes its name or
// version is a Dynamic artifact: MetadataCommand is a sandbox phase that
// runs its build backend's metadata step, and Learn reads the name,
// version and requirements from the report it leaves (see pypi's doc).
// Registry sdists must carry PKG-INFO. Registry bytes kept under a name
// that does not tell their format (the registry firewall's, in the blob
// store) are renamed by NameArtifact: a PyPI wheel gets its PEP 427 name
// from its .dist-info, which pip installs it by.
//
// Dependencies: npm dependencies are resolved with --ignore-scripts in a
// temporary project that lists them (never the target), into the npm cache
// that becomes the sandbox's; only registry specs are resolved (git, URL
// and file specs are left out and logged). They are resolved by the
// sandbox's own node and npm run on the host (Config.NPM, which the worker
// copies out of the image): npm picks a version by the node that runs it
// (engines), so a resolution by another node or npm can cache a version
// the sandbox's npm does not pick, and its offline install fails with
// ENOTCACHED before any script runs. The sandbox's install names the same
// registry, since npm keys cached packuments by URL. PyPI dependencies come from Requires-Dist (wheels'
// METADATA, sdists' PKG-INFO or egg-info requires.txt) and are
// downloaded, never built; an sdist that declares them only in setup.py
// brings none.
//
// Commands also say what package code each phase should run, for the
// worker's coverage: Command.Scripts (npm lifecycle scripts read from
// package.json on the host, with the node-gyp default for a binding.gyp;
// a PyPI sdist's build) and Command.Entries (the entry points the import
// command loads, each in a fresh process started with a known argv).
// Each script carries the package files it runs with their digests
// (Script.Files), read from the artifact on the host in one more pass:
// for npm the files its command names, resolved against the tarball's
// entries only (npm.Manifest.ScriptFiles: never an absolute path, a path
// climbing out, or a link followed; at most npm.MaxScriptFiles), for an
// sdist its setup.py, setup.cfg and pyproject.toml (pypi.BuildFiles).
//
// Registry URLs come from configuration only (Config, FUMEHOOD_NPM_REGISTRY,
// FUMEHOOD_PYPI_INDEX, the host npm's configuration). ecosystem must not
// import sandbox, bpf or worker.
package ecosystem
