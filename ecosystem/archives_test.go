package ecosystem

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// member is one archive entry a test builds.
type member struct {
	name string
	typ  byte // tar type flag; 0 is a regular file
	link string
	body string
}

func tarGz(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Typeflag: m.typ, Linkname: m.link, Size: int64(len(m.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipFile(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		h.SetMode(0o644)
		if m.typ == tar.TypeSymlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		body := m.body
		if m.typ == tar.TypeSymlink {
			body = m.link
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const pkgJSON = `{"name": "demo-pkg", "version": "1.0.0", "main": "index.js"}`

func npmTarball(t testing.TB, pkgJSON string) []byte {
	return tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/index.js", body: "module.exports = 1\n"})
}

func wheel(t testing.TB, name, version string, requires ...string) []byte {
	meta := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	for _, r := range requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	mod := filepath.Base(name)
	di := mod + "-" + version + ".dist-info/"
	return zipFile(t,
		member{name: mod + "/__init__.py", body: "x = 1\n"},
		member{name: di + "METADATA", body: meta + "\nlong description\nName: not-this\n"},
		member{name: di + "RECORD", body: mod + "/__init__.py,,\n" + di + "METADATA,,\n"},
	)
}

func sdist(t testing.TB, name, version string) []byte {
	root := name + "-" + version + "/"
	return tarGz(t,
		member{name: root + "PKG-INFO", body: "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
		member{name: root + "setup.py", body: "from setuptools import setup\nsetup()\n"},
		member{name: root + name + "/__init__.py", body: ""},
	)
}

// tree lists every path under dir with its size, for "nothing else
// was written" checks.
func tree(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out[p] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
