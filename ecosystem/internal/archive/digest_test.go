package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DigestTarGz digests the members asked for, whatever their size, and
// names a link's target without following it.
func TestDigestTarGz(t *testing.T) {
	big := strings.Repeat("x", maxWanted+1) // over what CheckTarGz returns
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []struct {
		hdr  tar.Header
		body string
	}{
		{tar.Header{Name: "package/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "package/install.js", Typeflag: tar.TypeReg, Mode: 0o644}, "run()"},
		{tar.Header{Name: "package/big.js", Typeflag: tar.TypeReg, Mode: 0o644}, big},
		{tar.Header{Name: "package/setup.js", Typeflag: tar.TypeSymlink, Linkname: "install.js"}, ""},
		{tar.Header{Name: "package/again.js", Typeflag: tar.TypeLink, Linkname: "package/install.js"}, ""},
		{tar.Header{Name: "package/other.js", Typeflag: tar.TypeReg, Mode: 0o644}, "not asked for"},
	} {
		h.hdr.Size = int64(len(h.body))
		if err := tw.WriteHeader(&h.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(h.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "p.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := func(s string) string { d := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(d[:]) }
	want := map[string]string{"package/install.js": sum("run()"), "package/big.js": sum(big),
		"package/setup.js": "link:install.js", "package/again.js": "link:package/install.js"}
	got, err := DigestTarGz(p, Limits{MaxBytes: 1 << 20, MaxFiles: 10}, func(n string) bool { return n != "package/other.js" })
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("DigestTarGz = %v, want %v", got, want)
	}
}
