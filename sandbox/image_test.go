package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/fumehood/fumehood/internal/testenv"
)

func TestImageRef(t *testing.T) {
	a, b := ImageRef([]byte("recipe a")), ImageRef([]byte("recipe b"))
	if !regexp.MustCompile(`^fumehood\.local/sandbox:[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("ImageRef = %q, want fumehood.local/sandbox:<12 hex>", a)
	}
	if a == b {
		t.Errorf("ImageRef of different recipes: got both %q, want different", a)
	}
	if got, want := ImageRef([]byte("recipe a")), a; got != want {
		t.Errorf("ImageRef is not stable: got %q, want %q", got, want)
	}
}

// fakeRecipe builds a tiny rootfs, appends a line to the file named by its
// first own argument, so tests can count how often it ran, and one to
// DOWNLOADS/kept, which outlives the build.
const fakeRecipe = `#!/bin/sh
set -eu
echo ran >> "$3"
echo ran >> "$2/kept"
mkdir -p "$1/etc" "$1/dev" "$1/proc/1" "$1/sys/kernel" "$1/usr/bin"
echo hello > "$1/etc/motd"
echo nope > "$1/dev/null"
echo nope > "$1/proc/1/status"
echo nope > "$1/sys/kernel/x"
`

func TestBuildImageCachesAndPacks(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	counter := filepath.Join(t.TempDir(), "runs")
	recipe := []byte(fakeRecipe)

	first, err := BuildImage(ctx, recipe, cache, counter)
	if err != nil {
		t.Fatalf("BuildImage: %v", err)
	}
	second, err := BuildImage(ctx, recipe, cache, counter)
	if err != nil {
		t.Fatalf("BuildImage again: %v", err)
	}
	if first != second {
		t.Errorf("BuildImage paths: got %q then %q, want the same", first, second)
	}
	runs, _ := os.ReadFile(counter)
	if got, want := strings.Count(string(runs), "ran"), 1; got != want {
		t.Errorf("recipe ran %d times, want %d (second build must hit the cache)", got, want)
	}
	entries, _ := os.ReadDir(cache)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"downloads", filepath.Base(first)}; !slices.Equal(names, want) {
		t.Errorf("cache dir holds %q, want only %q (build dir and temp files removed)", names, want)
	}
	if kept, err := os.ReadFile(filepath.Join(cache, "downloads", "kept")); err != nil || string(kept) != "ran\n" {
		t.Errorf("DOWNLOADS/kept after one build: %q, %v; want the recipe's line", kept, err)
	}

	img := readOCITar(t, first)
	if len(img.layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(img.layers))
	}
	layer := img.layers[0]
	if got, want := img.config.Config.User, "1000:1000"; got != want {
		t.Errorf("config user: got %q, want %q", got, want)
	}
	if !slices.ContainsFunc(img.config.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		t.Errorf("config env %q: want a PATH", img.config.Config.Env)
	}
	if strings.Contains(string(img.rawConfig), "ostname") {
		t.Errorf("config mentions a hostname: %s", img.rawConfig)
	}
	for _, want := range []string{"./etc/motd", "./dev/", "./proc/", "./sys/"} {
		if _, ok := layer[want]; !ok {
			t.Errorf("layer lacks %s; has %v", want, keys(layer))
		}
	}
	for _, notWant := range []string{"./dev/null", "./proc/1/status", "./proc/1/", "./sys/kernel/x"} {
		if _, ok := layer[notWant]; ok {
			t.Errorf("layer has %s, want /dev, /proc, /sys emptied", notWant)
		}
	}
	if h, ok := layer["./etc/motd"]; ok && (h.Uname != "" || h.Gname != "") {
		t.Errorf("layer entry names owner %q:%q, want numeric owners only", h.Uname, h.Gname)
	}
}

func TestBuildImageRecipeFails(t *testing.T) {
	cache := t.TempDir()
	_, err := BuildImage(context.Background(), []byte("echo broken recipe >&2; exit 7\n"), cache)
	if err == nil || !strings.Contains(err.Error(), "broken recipe") {
		t.Fatalf("BuildImage of a failing recipe: got %v, want an error quoting its output", err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 1 || entries[0].Name() != "downloads" {
		t.Errorf("failed build left %v in the cache dir, want only downloads/", entries)
	}
}

// TestBuildAppImage builds the app image on a tiny packed rootfs: the
// base's layer as it is, then one with the binary; the config runs
// fumehood serve as root; the same input gives the same digests.
func TestBuildAppImage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for name, content := range map[string]string{"etc/motd": "hello\n", "usr/local/bin/node": "#!/bin/sh\n"} {
		if err := os.MkdirAll(filepath.Join(rootfs, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	baseTar := filepath.Join(dir, "base.tar")
	if err := packRootfs(ctx, rootfs, baseTar); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "fumehood")
	binContent := []byte("\x7fELF not really a binary")
	if err := os.WriteFile(binary, binContent, 0o600); err != nil { // the image's mode is 0755 whatever the file's
		t.Fatal(err)
	}
	app := AppImage{Base: baseTar, Binary: binary, Ref: "fumehood.local/fumehood:test", Version: "v1.2.3"}

	var descs []ocispec.Descriptor
	for _, name := range []string{"app1.tar", "app2.tar"} {
		desc, err := BuildAppImage(ctx, app, filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("BuildAppImage: %v", err)
		}
		descs = append(descs, desc)
	}
	if descs[0].Digest != descs[1].Digest {
		t.Errorf("two builds of the same input: manifests %s and %s, want the same", descs[0].Digest, descs[1].Digest)
	}

	base := readOCITar(t, baseTar)
	img := readOCITar(t, filepath.Join(dir, "app1.tar"))
	if img.manifestDesc.Digest != descs[0].Digest {
		t.Errorf("index names manifest %s, BuildAppImage returned %s", img.manifestDesc.Digest, descs[0].Digest)
	}
	for _, key := range []string{"io.containerd.image.name", ocispec.AnnotationRefName} {
		if got := img.manifestDesc.Annotations[key]; got != app.Ref {
			t.Errorf("index annotation %s = %q, want %q", key, got, app.Ref)
		}
	}
	if len(img.layers) != 2 {
		t.Fatalf("app image has %d layers, want 2", len(img.layers))
	}
	if got, want := img.manifest.Layers[0], base.manifest.Layers[0]; got.Digest != want.Digest || got.Size != want.Size {
		t.Errorf("first layer %s (%d bytes), want the base's %s (%d bytes)", got.Digest, got.Size, want.Digest, want.Size)
	}
	want := []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/fumehood"}
	if got := keys(img.layers[1]); !slices.Equal(got, want) {
		t.Errorf("second layer holds %q, want %q", got, want)
	}
	for name, e := range img.layers[1] {
		if e.Uid != 0 || e.Gid != 0 || e.Uname != "" || e.Gname != "" || e.Mode != 0o755 || !e.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d:%d (%q:%q), mode %o, time %v; want 0:0 unnamed, 0755, the epoch", name, e.Uid, e.Gid, e.Uname, e.Gname, e.Mode, e.ModTime)
		}
	}
	if e := img.layers[1]["usr/local/bin/fumehood"]; e.Header == nil || e.Typeflag != tar.TypeReg || !bytes.Equal(e.data, binContent) {
		t.Errorf("usr/local/bin/fumehood: %+v, want a file of the binary's bytes", e)
	}

	c := img.config.Config
	for _, check := range []struct {
		what      string
		got, want []string
	}{
		{"entrypoint", c.Entrypoint, []string{"/usr/local/bin/fumehood"}},
		{"cmd", c.Cmd, []string{"serve"}},
		{"user", []string{c.User}, []string{"0:0"}},
		{"env", c.Env, []string{imagePath}},
		{"labels", []string{c.Labels[ocispec.AnnotationTitle], c.Labels[ocispec.AnnotationVersion]}, []string{"fumehood", "v1.2.3"}},
		{"platform", []string{img.config.OS, img.config.Architecture}, []string{base.config.OS, base.config.Architecture}},
	} {
		if !slices.Equal(check.got, check.want) {
			t.Errorf("config %s: got %q, want %q", check.what, check.got, check.want)
		}
	}
}

// TestBuildAppImageBadBase: a base that is not one image of one layer,
// or whose layer is not what its digest says, is an ErrBaseImage, and
// nothing is written.
func TestBuildAppImageBadBase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	layer := func(content string) imageLayer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Size: int64(len(content))})
		tw.Write([]byte(content))
		tw.Close()
		d := digest.FromBytes(buf.Bytes())
		return imageLayer{
			desc:   ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: int64(buf.Len())},
			diffID: d,
			r:      bytes.NewReader(buf.Bytes()),
		}
	}
	corrupt := layer("a")
	corrupt.r = bytes.NewReader(bytes.Repeat([]byte{0}, int(corrupt.desc.Size)))
	for _, tc := range []struct {
		name   string
		layers []imageLayer
		want   string
	}{
		{"two layers", []imageLayer{layer("a"), layer("b")}, "has 2 layers, want 1"},
		{"no layer", nil, "has 0 layers, want 1"},
		{"corrupt layer", []imageLayer{corrupt}, "does not match its digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(dir, tc.name+".tar")
			if _, err := writeImageTar(base, ocispec.Image{}, tc.layers, nil); err != nil {
				t.Fatal(err)
			}
			binary := filepath.Join(dir, "fumehood")
			if err := os.WriteFile(binary, []byte("bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, tc.name+"-app.tar")
			_, err := BuildAppImage(ctx, AppImage{Base: base, Binary: binary}, dst)
			if !errors.Is(err, ErrBaseImage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BuildAppImage: got %v, want an ErrBaseImage saying %q", err, tc.want)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after a failed build: %s exists (%v), want nothing written", dst, err)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".image-*")); len(left) > 0 {
		t.Errorf("failed builds left %q", left)
	}
	if _, err := BuildAppImage(ctx, AppImage{Base: filepath.Join(dir, "none.tar"), Binary: "x"}, filepath.Join(dir, "app.tar")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BuildAppImage of a missing base: got %v, want ErrNotExist", err)
	}
}

type ociImage struct {
	manifestDesc ocispec.Descriptor
	manifest     ocispec.Manifest
	rawConfig    []byte
	config       ocispec.Image
	layers       []map[string]layerEntry // by entry name, in the manifest's order
}

type layerEntry struct {
	*tar.Header
	data []byte
}

// readOCITar follows index.json → manifest → config and layers in an OCI
// image tar of one image, checking that every blob has the digest it is
// named by and that the config's diff ids are the (uncompressed) layers'
// digests.
func readOCITar(t *testing.T, path string) ociImage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := readTar(t, f)
	if _, ok := files[ocispec.ImageLayoutFile]; !ok {
		t.Fatalf("no %s in %s", ocispec.ImageLayoutFile, path)
	}
	for name, e := range files {
		if enc, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			if got := digest.FromBytes(e.data); got.Encoded() != enc {
				t.Errorf("blob %s has digest %s", name, got)
			}
		}
	}
	var index ocispec.Index
	mustJSON(t, files[ocispec.ImageIndexFile].data, &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(index.Manifests))
	}
	img := ociImage{manifestDesc: index.Manifests[0]}
	mustJSON(t, files[blobPath(img.manifestDesc.Digest)].data, &img.manifest)
	img.rawConfig = files[blobPath(img.manifest.Config.Digest)].data
	mustJSON(t, img.rawConfig, &img.config)
	var digests []digest.Digest
	for _, l := range img.manifest.Layers {
		digests = append(digests, l.Digest)
		img.layers = append(img.layers, readTar(t, bytes.NewReader(files[blobPath(l.Digest)].data)))
	}
	if got := img.config.RootFS.DiffIDs; !slices.Equal(got, digests) {
		t.Errorf("config diff ids: got %v, want the layers' digests %v", got, digests)
	}
	return img
}

// readTar returns the entries of the tar r by name.
func readTar(t *testing.T, r io.Reader) map[string]layerEntry {
	t.Helper()
	entries := map[string]layerEntry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = layerEntry{h, b}
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestImportImage(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	recipe := []byte(fakeRecipe + "# import test\n")
	tarPath, err := BuildImage(ctx, recipe, t.TempDir(), filepath.Join(t.TempDir(), "runs"))
	if err != nil {
		t.Fatal(err)
	}
	ref := ImageRef(recipe)
	t.Cleanup(func() { s.client.ImageService().Delete(s.nsCtx(ctx), ref) })
	if ok, err := s.HasImage(ctx, ref); err != nil || ok {
		t.Fatalf("HasImage before import: got %v, %v; want false, nil", ok, err)
	}
	for i := range 2 { // idempotent
		if err := s.ImportImage(ctx, tarPath, ref); err != nil {
			t.Fatalf("ImportImage #%d: %v", i+1, err)
		}
	}
	if ok, err := s.HasImage(ctx, ref); err != nil || !ok {
		t.Errorf("HasImage after import: got %v, %v; want true, nil", ok, err)
	}
	img, err := s.client.GetImage(s.nsCtx(ctx), ref)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := img.IsUnpacked(s.nsCtx(ctx), snapshotter); err != nil || !ok {
		t.Errorf("unpacked for %s: got %v, %v; want true", snapshotter, ok, err)
	}
}

// TestCopyFromImage copies a file and a directory tree out of an imported
// image, and nothing else; a path the image lacks is an error.
func TestCopyFromImage(t *testing.T) {
	addr := testenv.Containerd(t)
	ctx := context.Background()
	recipe := []byte(fakeRecipe + `mkdir -p "$1/opt/tool/lib/sub" "$1/opt/toolbox"
echo main > "$1/opt/tool/lib/main.js"
echo deep > "$1/opt/tool/lib/sub/deep.js"
echo sibling > "$1/opt/toolbox/other"
ln -s lib/main.js "$1/opt/tool/entry"
`)
	tarPath, err := BuildImage(ctx, recipe, t.TempDir(), filepath.Join(t.TempDir(), "runs"))
	if err != nil {
		t.Fatal(err)
	}
	ref := ImageRef(recipe)
	s, err := New(ctx, Config{Address: addr, Image: ref, StateDir: stateDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.client.ImageService().Delete(s.nsCtx(ctx), ref)
		s.Close()
	})
	if err := s.ImportImage(ctx, tarPath, ref); err != nil {
		t.Fatal(err)
	}
	d, err := s.ImageDigest(ctx)
	if err != nil || d.Validate() != nil {
		t.Fatalf("ImageDigest = %q, %v; want a digest", d, err)
	}

	dir := t.TempDir()
	if err := s.CopyFromImage(ctx, dir, "etc/motd", "opt/tool"); err != nil {
		t.Fatalf("CopyFromImage: %v", err)
	}
	var got []string
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			got = append(got, rel+"="+strings.TrimSpace(string(b)))
		}
		return nil
	})
	want := []string{"etc/motd=hello", "opt/tool/entry=main", "opt/tool/lib/main.js=main", "opt/tool/lib/sub/deep.js=deep"}
	if !slices.Equal(got, want) {
		t.Errorf("copied %q, want %q", got, want)
	}
	if target, err := os.Readlink(filepath.Join(dir, "opt/tool/entry")); err != nil || target != "lib/main.js" {
		t.Errorf("symlink entry: %q, %v; want lib/main.js", target, err)
	}

	if err := s.CopyFromImage(ctx, t.TempDir(), "etc/motd", "opt/none"); !errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), "opt/none") {
		t.Errorf("CopyFromImage of a missing path: got %v, want ErrImageNotFound naming opt/none", err)
	}
}
