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

// fakeRecipe builds a tiny rootfs and appends a line to the file named by
// its MIRROR argument, so tests can count how often it ran.
const fakeRecipe = `#!/bin/sh
set -eu
echo ran >> "$2"
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

	first, err := BuildImage(ctx, recipe, counter, cache)
	if err != nil {
		t.Fatalf("BuildImage: %v", err)
	}
	second, err := BuildImage(ctx, recipe, counter, cache)
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
	if want := []string{filepath.Base(first)}; !slices.Equal(names, want) {
		t.Errorf("cache dir holds %q, want only %q (build dir and temp files removed)", names, want)
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
	_, err := BuildImage(context.Background(), []byte("echo broken recipe >&2; exit 7\n"), "unused", cache)
	if err == nil || !strings.Contains(err.Error(), "broken recipe") {
		t.Fatalf("BuildImage of a failing recipe: got %v, want an error quoting its output", err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("failed build left %d entries in the cache dir, want 0", len(entries))
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
	tarPath, err := BuildImage(ctx, recipe, filepath.Join(t.TempDir(), "runs"), t.TempDir())
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
