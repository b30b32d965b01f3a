// Package lockfile reads the lockfiles a batch fans out over into exact
// package versions (ecosystem.Target): npm's package-lock.json (v2, v3)
// and npm-shrinkwrap.json, and pinned pip requirements files.
//
// npm: the "packages" map is read; the root project (""), links and
// workspace sources (entries not under node_modules/), bundled entries
// (inBundle, bundled: they come inside their parent's tarball) and
// entries resolved from elsewhere than a registry (git, file, or a URL
// that is not a registry tarball ".../-/NAME-VERSION.tgz") are skipped.
// An aliased entry (node_modules/ALIAS with "name": REAL) is the real
// package. Lockfile v1 (no "packages") is refused: regenerate it with
// npm 7 or later.
//
// requirements: one "name==version" a line (extras and environment
// markers dropped, hashes ignored, "\" continuations joined). Comments,
// blank lines and index options (--index-url, --hash, ...) are ignored;
// anything that changes what would be installed without naming an exact
// version — a range, a wildcard, "===", a URL or path requirement, -r,
// -c, -e — is refused with an error naming the line.
//
// Every error wraps ErrInvalid. Results are de-duplicated and sorted.
// lockfile imports only ecosystem; it never contacts a registry.
package lockfile
