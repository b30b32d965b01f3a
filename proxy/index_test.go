package proxy

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// simpleIndex is a stand-in PEP 503/691 simple index: project pages
// (JSON or HTML by Accept, ETags honoured) and the files they list,
// whose bytes or hashes a test may change.
type simpleIndex struct {
	srv *httptest.Server
	mu  sync.Mutex
	// projects: normalized name → files.
	projects map[string][]*pubFile
	// htmlOnly makes the index answer PEP 503 HTML whatever is asked.
	htmlOnly bool
	// requests counts page fetches by result (200, 304) and file
	// fetches ("file").
	requests map[string]int
}

type pubFile struct {
	name           string
	data           []byte
	uploaded       time.Time // zero: the index does not say
	sha256         string    // "" computes it from data
	requiresPython string
	yanked         bool
}

func newSimpleIndex(t testing.TB) *simpleIndex {
	ix := &simpleIndex{projects: map[string][]*pubFile{}, requests: map[string]int{}}
	ix.srv = httptest.NewServer(http.HandlerFunc(ix.serve))
	t.Cleanup(ix.srv.Close)
	return ix
}

// url is the index's base URL, the one pip's --index-url names.
func (ix *simpleIndex) url() string { return ix.srv.URL + "/simple/" }

func (ix *simpleIndex) publish(project string, f *pubFile) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := pypi.Normalize(project)
	ix.projects[n] = append(ix.projects[n], f)
}

// change calls change on a published file, under the lock.
func (ix *simpleIndex) change(project, file string, change func(*pubFile)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, f := range ix.projects[pypi.Normalize(project)] {
		if f.name == file {
			change(f)
		}
	}
}

func (ix *simpleIndex) count(what string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.requests[what]
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (ix *simpleIndex) serve(w http.ResponseWriter, r *http.Request) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/packages/"); ok {
		ix.requests["file"]++
		name, file, _ := strings.Cut(rest, "/")
		for _, f := range ix.projects[name] {
			if f.name == file {
				w.Write(f.data)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/simple/")
	name = strings.TrimSuffix(name, "/")
	files := ix.projects[name]
	if !ok || files == nil {
		http.NotFound(w, r)
		return
	}
	sorted := append([]*pubFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	asJSON := !ix.htmlOnly && strings.Contains(r.Header.Get("Accept"), mediaSimpleJSON)
	var body []byte
	if asJSON {
		var fs []map[string]any
		for _, f := range sorted {
			j := map[string]any{"filename": f.name, "url": "../../packages/" + name + "/" + f.name,
				"hashes": map[string]string{"sha256": f.hash()}, "yanked": f.yanked}
			if f.requiresPython != "" {
				j["requires-python"] = f.requiresPython
			}
			if !f.uploaded.IsZero() {
				j["upload-time"] = f.uploaded.UTC().Format(time.RFC3339)
			}
			fs = append(fs, j)
		}
		doc := map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": name, "files": fs}
		body, _ = json.Marshal(doc)
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "<!DOCTYPE html><html><body><h1>Links for %s</h1>\n", name)
		for _, f := range sorted {
			attrs := ""
			if f.requiresPython != "" {
				attrs += ` data-requires-python="` + html.EscapeString(f.requiresPython) + `"`
			}
			if f.yanked {
				attrs += ` data-yanked="broken"`
			}
			fmt.Fprintf(&b, "<a href=\"/packages/%s/%s#sha256=%s\"%s>%s</a><br/>\n", name, f.name, f.hash(), attrs, f.name)
		}
		b.WriteString("</body></html>\n")
		body = []byte(b.String())
	}
	etag := `"` + hexSHA256(body)[:16] + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		ix.requests["304"]++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ix.requests["200"]++
	if asJSON {
		w.Header().Set("Content-Type", mediaSimpleJSON)
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.Write(body)
}

func (f *pubFile) hash() string {
	if f.sha256 != "" {
		return f.sha256
	}
	return hexSHA256(f.data)
}

// fixedTime dates every member of the generated archives: their bytes
// are deterministic.
var fixedTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// wheel builds a pure-Python wheel of name and version (PEP 427: a
// module, METADATA, WHEEL and a RECORD with the members' hashes) whose
// module holds code; its file name is the returned name.
func wheel(t testing.TB, name, version, code string) (string, []byte) {
	t.Helper()
	dist := strings.ReplaceAll(pypi.Normalize(name), "-", "_")
	info := dist + "-" + version + ".dist-info/"
	members := []struct{ name, data string }{
		{dist + "/__init__.py", code},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nRequires-Python: >=3.7\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: fumehood-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.data))
		sum := sha256.Sum256([]byte(m.data))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", m.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(m.data))
	}
	record.WriteString(info + "RECORD,,\n")
	w, err := zw.CreateHeader(&zip.FileHeader{Name: info + "RECORD", Method: zip.Deflate, Modified: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return dist + "-" + version + "-py3-none-any.whl", buf.Bytes()
}

// sdist builds a source distribution of name and version (PKG-INFO and a
// module; never built here); its file name is the returned name.
func sdist(t testing.TB, name, version string) (string, []byte) {
	t.Helper()
	root := strings.ReplaceAll(pypi.Normalize(name), "-", "_") + "-" + version
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.ModTime = fixedTime
	tw := tar.NewWriter(zw)
	for _, m := range []struct{ name, data string }{
		{root + "/PKG-INFO", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
		{root + "/pyproject.toml", "[project]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), ModTime: fixedTime, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return root + ".tar.gz", buf.Bytes()
}
