// Package npm handles npm packages on the host: name and version rules,
// the registry's packument and tarball (verified by dist.integrity),
// tarball checks, packing a source directory like npm pack, filling an
// npm cache with a package's dependencies with scripts disabled (run by a
// Runtime: the sandbox's node and npm on the host), and the argv of the
// install and import commands the sandbox runs. It never runs
// package code and never imports sandbox or the parent ecosystem package.
package npm
