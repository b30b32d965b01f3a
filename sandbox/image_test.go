package sandbox

import (
	"archive/tar"
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
		if _, ok := img.layer[want]; !ok {
			t.Errorf("layer lacks %s; has %v", want, keys(img.layer))
		}
	}
	for _, notWant := range []string{"./dev/null", "./proc/1/status", "./proc/1/", "./sys/kernel/x"} {
		if _, ok := img.layer[notWant]; ok {
			t.Errorf("layer has %s, want /dev, /proc, /sys emptied", notWant)
		}
	}
	if h := img.layer["./etc/motd"]; h != nil && (h.Uname != "" || h.Gname != "") {
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

type ociImage struct {
	rawConfig []byte
	config    ocispec.Image
	layer     map[string]*tar.Header
}

// readOCITar follows index.json → manifest → config and layer in an OCI
// image tar.
func readOCITar(t *testing.T, path string) ociImage {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	if _, ok := files[ocispec.ImageLayoutFile]; !ok {
		t.Fatalf("no %s in %s", ocispec.ImageLayoutFile, path)
	}
	var index ocispec.Index
	mustJSON(t, files[ocispec.ImageIndexFile], &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(index.Manifests))
	}
	var manifest ocispec.Manifest
	mustJSON(t, files[blobPath(index.Manifests[0].Digest)], &manifest)
	if len(manifest.Layers) != 1 {
		t.Fatalf("manifest has %d layers, want 1", len(manifest.Layers))
	}
	img := ociImage{rawConfig: files[blobPath(manifest.Config.Digest)], layer: map[string]*tar.Header{}}
	mustJSON(t, img.rawConfig, &img.config)
	if got, want := img.config.RootFS.DiffIDs, []any{manifest.Layers[0].Digest}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("config diff ids: got %v, want %v", got, want)
	}
	lr := tar.NewReader(strings.NewReader(string(files[blobPath(manifest.Layers[0].Digest)])))
	for {
		h, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		img.layer[h.Name] = h
	}
	return img
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
