// Package pypi handles Python distributions on the host: PEP 508 names,
// PEP 440 versions and specifiers, the simple repository API (PEP 503
// HTML and PEP 691 JSON) with sha256 verification, wheel and sdist checks
// and metadata (name, version, Requires-Dist, top-level modules), packing
// a source tree as an sdist without running setup.py, downloading
// dependencies into a pip find-links directory, and the argv of the
// install and import commands the sandbox runs. It never runs package
// code and never imports sandbox or the parent ecosystem package.
//
// Computed metadata. Static metadata comes first: an sdist's PKG-INFO
// (every sdist from an index has one), else, for a source tree,
// pyproject.toml [project], setup.cfg [metadata] or literal setup()
// arguments. When those lack the name or version (setup.py reads it from
// a file, execs a version.py, asks git), the tree is packed without
// PKG-INFO and its Meta is Dynamic. Its metadata is then learned the way
// pip learns it, by running the build backend's metadata step
// (prepare_metadata_for_build_wheel, or setup.py egg_info for a legacy
// setuptools project): MetadataArgv is a dry-run pip install of the
// artifact alone, offline, with the image's setuptools, that writes pip's
// installation report. That runs package code, so it is a phase of its
// own in the sandbox ("metadata", before install, traced and judged like
// the others), never a step on the host; ParseReport reads the report
// back as untrusted input. A separate phase rather than part of install,
// because the requirements it reports are downloaded into the offline
// cache before the install needs them. Packing skips .git, so a version
// computed from git history fails its metadata step (known gap), as
// does a build needing a backend the image lacks (e.g. setuptools_scm).
package pypi
