package ecosystem

import (
	"archive/tar"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/internal/testenv"
)

// TestPackCorpus packs every corpus sample directory (reading its files,
// never running them) and checks the artifact: the right name and
// version, every package file present, sample.json absent.
func TestPackCorpus(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(testenv.Corpus(t), "*", "*", "sample.json"))
	if len(dirs) == 0 {
		t.Fatal("the corpus holds no samples")
	}
	for _, sj := range dirs {
		src := filepath.Dir(sj)
		eco := filepath.Base(filepath.Dir(src))
		t.Run(eco+"/"+filepath.Base(src), func(t *testing.T) {
			var sample struct{ Name, Ecosystem string }
			b, err := os.ReadFile(sj)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &sample); err != nil {
				t.Fatal(err)
			}
			tg, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse(%s): %v", src, err)
			}
			if got, want := tg.Ecosystem, sample.Ecosystem; got != want {
				t.Fatalf("ecosystem: got %q, want %q", got, want)
			}
			work := t.TempDir()
			a, err := Fetch(context.Background(), Config{NPMRegistry: "http://127.0.0.1:9"}, tg, work)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got, want := a.Name, sample.Name; got != want {
				t.Errorf("name: got %q, want %q", got, want)
			}
			if filepath.Dir(a.File) != work {
				t.Errorf("artifact %s: want it in %s", a.File, work)
			}
			names, err := archiveNames(a.File)
			if err != nil {
				t.Fatal(err)
			}
			var root string
			switch eco {
			case "npm":
				var m struct{ Version string }
				b, _ := os.ReadFile(filepath.Join(src, "package.json"))
				json.Unmarshal(b, &m)
				if got, want := a.Version, m.Version; got != want {
					t.Errorf("version: got %q, want %q", got, want)
				}
				root = "package/"
			case "pypi":
				b, _ := os.ReadFile(filepath.Join(src, "setup.py"))
				if !strings.Contains(string(b), `version="`+a.Version+`"`) {
					t.Errorf("version %q is not the one setup.py declares", a.Version)
				}
				root = strings.ReplaceAll(a.Name, "-", "_") + "-" + a.Version + "/"
				if !names[root+"PKG-INFO"] {
					t.Errorf("no %sPKG-INFO in %v", root, names)
				}
			}
			filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(src, p)
				if want := rel != "sample.json"; names[root+rel] != want {
					t.Errorf("%s%s in the artifact: got %v, want %v", root, rel, names[root+rel], want)
				}
				return nil
			})
			for n := range names {
				if filepath.Base(n) == "sample.json" {
					t.Errorf("artifact holds %s", n)
				}
			}
		})
	}
}

func archiveNames(p string) (map[string]bool, error) {
	c, err := archive.CheckTarGz(p, archive.Limits{MaxBytes: 1 << 30, MaxFiles: 1 << 20}, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range c.Names {
		out[n] = true
	}
	return out, nil
}

// TestFetchBadArtifact feeds malformed and unsafe artifacts to Fetch and
// checks the error class and that nothing was left in or written outside
// the work directory.
func TestFetchBadArtifact(t *testing.T) {
	good := npmTarball(t, pkgJSON)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-6] ^= 0xff // the gzip CRC-32
	truncated := good[:len(good)/2]
	many := []member{{name: "package/package.json", body: pkgJSON}}
	for i := range 20 {
		many = append(many, member{name: fmt.Sprintf("package/f%d.js", i)})
	}
	tests := []struct {
		name string
		file string
		data []byte
		cfg  Config
		want error
	}{
		{name: "corrupt gzip", file: "a.tgz", data: corrupt, want: ErrBadArtifact},
		{name: "truncated", file: "a.tgz", data: truncated, want: ErrBadArtifact},
		{name: "not gzip", file: "a.tgz", data: []byte("PK\x03\x04 not a tarball at all"), want: ErrBadArtifact},
		{name: "dotdot", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/../../evil.sh", body: "x"}), want: ErrBadArtifact},
		{name: "absolute", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "/etc/cron.d/x", body: "x"}), want: ErrBadArtifact},
		{name: "symlink escape", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/lib/x", typ: tar.TypeSymlink, link: "../../../root/.ssh"}), want: ErrBadArtifact},
		{name: "absolute symlink", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/x", typ: tar.TypeSymlink, link: "/etc/passwd"}), want: ErrBadArtifact},
		{name: "hardlink escape", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/x", typ: tar.TypeLink, link: "../outside"}), want: ErrBadArtifact},
		{name: "device", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/dev", typ: tar.TypeChar}), want: ErrBadArtifact},
		{name: "over MaxArtifact", file: "a.tgz", data: good, cfg: Config{MaxArtifact: int64(len(good) - 1)}, want: ErrTooLarge},
		{name: "too many entries", file: "a.tgz", data: tarGz(t, many...), cfg: Config{MaxFiles: 10}, want: ErrTooLarge},
		{name: "bomb", file: "a.tgz", data: tarGz(t, member{name: "package/package.json", body: pkgJSON}, member{name: "package/big", body: strings.Repeat("0", 1<<20)}), cfg: Config{MaxArtifact: 16 << 10}, want: ErrTooLarge},
		{name: "no manifest", file: "a.tgz", data: tarGz(t, member{name: "package/index.js", body: "x"}), want: ErrBadArtifact},
		{name: "manifest bad version", file: "a.tgz", data: npmTarball(t, `{"name":"a","version":"latest"}`), want: ErrBadArtifact},
		{name: "manifest not json", file: "a.tgz", data: npmTarball(t, `{`), want: ErrBadArtifact},
		{name: "wheel dotdot", file: "x-1.0-py3-none-any.whl", data: zipFile(t, member{name: "../x.py"}), want: ErrBadArtifact},
		{name: "wheel symlink escape", file: "x-1.0-py3-none-any.whl", data: zipFile(t, member{name: "x/y", typ: tar.TypeSymlink, link: "../../etc"}), want: ErrBadArtifact},
		{name: "wheel no METADATA", file: "x-1.0-py3-none-any.whl", data: zipFile(t, member{name: "x/__init__.py"}), want: ErrBadArtifact},
		{name: "wheel not zip", file: "x-1.0-py3-none-any.whl", data: good, want: ErrBadArtifact},
		{name: "sdist no PKG-INFO", file: "x-1.0.tar.gz", data: tarGz(t, member{name: "x-1.0/PKG-INFO.bak"}, member{name: "x-1.0/package.json", body: pkgJSON}), want: ErrBadArtifact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			work := filepath.Join(parent, "work")
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			in := writeFile(t, filepath.Join(parent, "in", tt.file), tt.data)
			eco := NPM
			if strings.HasSuffix(tt.file, ".whl") || strings.HasSuffix(tt.file, ".tar.gz") {
				eco = PyPI
			}
			before := tree(t, parent)
			tt.cfg.NPMRegistry = "http://127.0.0.1:9"
			a, err := Fetch(context.Background(), tt.cfg, Target{Ecosystem: eco, Path: in}, work)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Fetch = %+v, %v; want an error wrapping %v", a, err, tt.want)
			}
			if after := tree(t, parent); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("files changed: got %v, want %v", after, before)
			}
		})
	}
}

// A file handed over as a registry version (Name and Version given) must
// be that version.
func TestFetchFileOfVersion(t *testing.T) {
	in := writeFile(t, filepath.Join(t.TempDir(), "in", "a.tgz"), npmTarball(t, `{"name":"a","version":"1.0.0"}`))
	cfg := Config{NPMRegistry: "http://127.0.0.1:9"}
	tests := []struct {
		name, version string
		want          error
	}{
		{"a", "1.0.0", nil},
		{"", "", nil}, // an upload: whatever its manifest says
		{"a", "1.0.1", ErrBadArtifact},
		{"b", "1.0.0", ErrBadArtifact},
	}
	for _, tt := range tests {
		a, err := Fetch(context.Background(), cfg, Target{Ecosystem: NPM, Name: tt.name, Version: tt.version, Path: in}, t.TempDir())
		if !errors.Is(err, tt.want) || (err == nil && (a.Name != "a" || a.Version != "1.0.0")) {
			t.Errorf("Fetch(%s@%s) = %+v, %v; want error %v", tt.name, tt.version, a, err, tt.want)
		}
	}
}

// npmRegistry is a stand-in npm registry serving packuments and tarballs.
type npmRegistry struct {
	srv      *httptest.Server
	tarballs map[string][]byte // path → body
	docs     map[string]string // escaped name → packument
}

func newNPMRegistry(t *testing.T) *npmRegistry {
	r := &npmRegistry{tarballs: map[string][]byte{}, docs: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if b, ok := r.tarballs[req.URL.Path]; ok {
			w.Write(b)
			return
		}
		if d, ok := r.docs[strings.TrimPrefix(req.URL.EscapedPath(), "/")]; ok {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, d)
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// publish adds name@version with body as its tarball and the dist hashes
// dist returns (given the body).
func (r *npmRegistry) publish(name, version string, body []byte, dist func([]byte) string) {
	p := "/tarballs/" + strings.ReplaceAll(name, "/", "-") + "-" + version + ".tgz"
	r.tarballs[p] = body
	key := strings.Replace(name, "/", "%2f", 1)
	r.docs[key] = fmt.Sprintf(`{"name":%q,"versions":{%q:{"dist":{"tarball":%q,%s}}}}`, name, version, r.srv.URL+p, dist(body))
}

func sri(b []byte) string {
	s := sha512.Sum512(b)
	return `"integrity":"sha512-` + base64.StdEncoding.EncodeToString(s[:]) + `"`
}

func shasum(b []byte) string {
	s := sha1.Sum(b)
	return `"shasum":"` + hex.EncodeToString(s[:]) + `"`
}

func TestFetchNPMRegistry(t *testing.T) {
	reg := newNPMRegistry(t)
	good := npmTarball(t, pkgJSON)
	reg.publish("demo-pkg", "1.0.0", good, sri)
	scoped := npmTarball(t, `{"name":"@demo/pkg","version":"2.0.0"}`)
	reg.publish("@demo/pkg", "2.0.0", scoped, shasum)
	reg.publish("tampered", "1.0.0", npmTarball(t, `{"name":"tampered","version":"1.0.0"}`), func([]byte) string { return sri([]byte("other")) })
	reg.publish("tampered-sha1", "1.0.0", npmTarball(t, `{"name":"tampered-sha1","version":"1.0.0"}`), func([]byte) string { return shasum([]byte("other")) })
	reg.publish("nohash", "1.0.0", npmTarball(t, `{"name":"nohash","version":"1.0.0"}`), func([]byte) string { return `"x":1` })
	reg.publish("liar", "1.0.0", npmTarball(t, `{"name":"liar","version":"6.6.6"}`), sri)
	reg.publish("gone", "1.0.0", good, sri)
	delete(reg.tarballs, "/tarballs/gone-1.0.0.tgz")

	tests := []struct {
		spec    string
		want    error
		wantSum []byte
	}{
		{spec: "npm:demo-pkg@1.0.0", wantSum: good},
		{spec: "npm:@demo/pkg@2.0.0", wantSum: scoped},
		{spec: "npm:demo-pkg@1.0.1", want: ErrNotFound},
		{spec: "npm:no-such-pkg@1.0.0", want: ErrNotFound},
		{spec: "npm:gone@1.0.0", want: ErrNotFound},
		{spec: "npm:tampered@1.0.0", want: ErrBadArtifact},
		{spec: "npm:tampered-sha1@1.0.0", want: ErrBadArtifact},
		{spec: "npm:nohash@1.0.0", want: ErrBadArtifact},
		{spec: "npm:liar@1.0.0", want: ErrBadArtifact},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			tg, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			a, err := Fetch(context.Background(), Config{NPMRegistry: reg.srv.URL + "/"}, tg, work)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Fetch = %+v, %v; want an error wrapping %v", a, err, tt.want)
				}
				if left := tree(t, work); len(left) != 1 {
					t.Errorf("work dir after a failed fetch: got %v, want it empty", left)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			sum := sha256.Sum256(tt.wantSum)
			want := Artifact{Ecosystem: NPM, Name: tg.Name, Version: tg.Version, File: a.File, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(tt.wantSum)), Registry: reg.srv.URL + "/"}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("Fetch: got %+v, want %+v", a, want)
			}
			if filepath.Dir(a.File) != work {
				t.Errorf("artifact %s not in %s", a.File, work)
			}
		})
	}
}

// pypiIndex is a stand-in simple index serving JSON (PEP 691) or HTML
// (PEP 503) project pages.
type pypiIndex struct {
	srv   *httptest.Server
	html  bool
	files map[string][]byte // file name → body
	hash  map[string]string // file name → sha256 hex to advertise
	proj  map[string][]string
	// uploaded is the PEP 700 upload-time of a file (JSON pages only).
	uploaded map[string]string
}

func newPyPIIndex(t *testing.T, html bool) *pypiIndex {
	ix := &pypiIndex{html: html, files: map[string][]byte{}, hash: map[string]string{}, proj: map[string][]string{}, uploaded: map[string]string{}}
	ix.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := ix.files[strings.TrimPrefix(r.URL.Path, "/files/")]; ok {
			w.Write(b)
			return
		}
		name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		fns, ok := ix.proj[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if ix.html {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>\n")
			for _, fn := range fns {
				fmt.Fprintf(w, "<a href=\"../../files/%s#sha256=%s\">%s</a><br/>\n", fn, ix.hash[fn], fn)
			}
			return
		}
		type file struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
			Uploaded string            `json:"upload-time,omitempty"`
		}
		var doc struct {
			Files []file `json:"files"`
		}
		for _, fn := range fns {
			doc.Files = append(doc.Files, file{Filename: fn, URL: "/files/" + fn, Hashes: map[string]string{"sha256": ix.hash[fn]}, Uploaded: ix.uploaded[fn]})
		}
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(ix.srv.Close)
	return ix
}

func (ix *pypiIndex) add(project, filename string, body []byte) {
	s := sha256.Sum256(body)
	ix.files[filename] = body
	ix.hash[filename] = hex.EncodeToString(s[:])
	ix.proj[project] = append(ix.proj[project], filename)
}

func TestFetchPyPIIndex(t *testing.T) {
	for _, html := range []bool{false, true} {
		ix := newPyPIIndex(t, html)
		ix.add("demo-dist", "demo_dist-1.0.tar.gz", sdist(t, "demo_dist", "1.0"))
		ix.add("demo-dist", "demo_dist-2.0.tar.gz", sdist(t, "demo_dist", "2.0"))
		ix.add("demo-dist", "demo_dist-2.0-py3-none-any.whl", wheel(t, "demo_dist", "2.0"))
		ix.add("demo-dist", "demo_dist-2.0-cp27-cp27mu-manylinux1_i686.whl", wheel(t, "demo_dist", "2.0"))
		ix.add("demo-dist", "demo_dist-3.0.tar.gz", sdist(t, "demo_dist", "3.0"))
		ix.hash["demo_dist-3.0.tar.gz"] = strings.Repeat("ab", 32)
		ix.add("demo-dist", "demo_dist-4.0.tar.gz", sdist(t, "demo_dist", "4.0"))
		ix.hash["demo_dist-4.0.tar.gz"] = ""
		ix.add("demo-dist", "demo_dist-5.0.tar.gz", sdist(t, "other", "5.0"))

		tests := []struct {
			spec     string
			want     error
			wantFile string
		}{
			{spec: "pypi:demo-dist==1.0", wantFile: "demo_dist-1.0.tar.gz"},
			{spec: "pypi:Demo.Dist==1.0.0", wantFile: "demo_dist-1.0.tar.gz"},
			{spec: "pypi:demo_dist==2.0", wantFile: "demo_dist-2.0-py3-none-any.whl"},
			{spec: "pypi:demo-dist==3.0", want: ErrBadArtifact},
			{spec: "pypi:demo-dist==4.0", want: ErrBadArtifact},
			{spec: "pypi:demo-dist==5.0", want: ErrBadArtifact},
			{spec: "pypi:demo-dist==9.9", want: ErrNotFound},
			{spec: "pypi:no-such==1.0", want: ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("html=%v/%s", html, tt.spec), func(t *testing.T) {
				tg, err := Parse(tt.spec)
				if err != nil {
					t.Fatal(err)
				}
				work := t.TempDir()
				a, err := Fetch(context.Background(), Config{PyPIIndex: ix.srv.URL + "/simple/"}, tg, work)
				if tt.want != nil {
					if !errors.Is(err, tt.want) {
						t.Fatalf("Fetch = %+v, %v; want an error wrapping %v", a, err, tt.want)
					}
					if left := tree(t, work); len(left) != 1 {
						t.Errorf("work dir after a failed fetch: got %v, want it empty", left)
					}
					return
				}
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if got, want := a.File, filepath.Join(work, tt.wantFile); got != want {
					t.Errorf("file: got %s, want %s", got, want)
				}
				if got, want := a.Digest, "sha256:"+ix.hash[tt.wantFile]; got != want {
					t.Errorf("digest: got %s, want %s", got, want)
				}
				if a.Name != "demo_dist" || a.Ecosystem != PyPI {
					t.Errorf("artifact: got %+v, want pypi demo_dist", a)
				}
			})
		}
	}
}

func TestFetchPyPIWithoutIndex(t *testing.T) {
	t.Setenv("FUMEHOOD_PYPI_INDEX", "")
	_, err := Fetch(context.Background(), Config{}, Target{Ecosystem: PyPI, Name: "x", Version: "1.0"}, t.TempDir())
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "FUMEHOOD_PYPI_INDEX") {
		t.Fatalf("Fetch without an index: got %v, want ErrUnsupported naming FUMEHOOD_PYPI_INDEX", err)
	}
}

// TestHostileInput gives Parse and Fetch inputs whose manifest or artifact
// is not a regular file: a FIFO (whose read blocks for ever), a symbolic
// link to a host file, a directory. Each must be refused promptly as bad
// input, and no error may carry a byte of the file a link points to.
func TestHostileInput(t *testing.T) {
	const secret = "host-secret-7d1e"
	host := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(host, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := func(p string) error { return syscall.Mkfifo(p, 0o644) }
	link := func(p string) error { return os.Symlink(host, p) }
	dir := func(p string) error { return os.Mkdir(p, 0o755) }
	tests := []struct {
		name string
		file string // made in the source directory, or the artifact itself with no directory
		make func(string) error
	}{
		{"fifo package.json", "package.json", fifo},
		{"symlink package.json", "package.json", link},
		{"directory package.json", "package.json", dir},
		{"fifo pyproject.toml", "pyproject.toml", fifo},
		{"symlink setup.py", "setup.py", link},
		{"fifo artifact", "", fifo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := t.TempDir()
			target := in
			if tt.file == "" {
				target = filepath.Join(in, "pkg.tgz")
			} else if tt.file != "package.json" {
				// a PyPI source tree, whatever the bad file
				if err := os.WriteFile(filepath.Join(in, "setup.cfg"), []byte("[metadata]\nname = x\nversion = 1.0\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := target
			if tt.file != "" {
				p = filepath.Join(in, tt.file)
			}
			if err := tt.make(p); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				tg, err := Parse(target)
				if err == nil {
					_, err = Fetch(context.Background(), Config{NPMRegistry: "http://127.0.0.1:9"}, tg, t.TempDir())
				}
				done <- err
			}()
			var err error
			testenv.WaitFor(t, 2*time.Minute, "Parse and Fetch to return", func() bool {
				select {
				case err = <-done:
					return true
				default:
					return false
				}
			})
			if !errors.Is(err, archive.ErrBadArtifact) && !errors.Is(err, ErrBadSpec) {
				t.Errorf("got %v, want a bad-artifact or bad-spec error", err)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q echoes the linked host file", err)
			}
		})
	}
}
