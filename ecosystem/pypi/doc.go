// Package pypi handles Python distributions on the host: PEP 508 names,
// PEP 440 versions and specifiers, the simple repository API (PEP 503
// HTML and PEP 691 JSON) with sha256 verification, wheel and sdist checks
// and metadata (name, version, Requires-Dist, top-level modules), packing
// a source tree as an sdist without running setup.py, downloading
// dependencies into a pip find-links directory, and the argv of the
// install and import commands the sandbox runs. It never runs package
// code and never imports sandbox or the parent ecosystem package.
package pypi
