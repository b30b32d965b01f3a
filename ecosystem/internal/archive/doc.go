// Package archive checks and writes the package archives fumehood handles
// (gzip-compressed tarballs and zip files) without ever extracting them to
// disk, and holds the sentinel errors shared by ecosystem and its
// subpackages (ecosystem re-exports them).
package archive
