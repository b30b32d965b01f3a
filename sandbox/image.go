package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageRepo is the repository of every sandbox image ref.
const imageRepo = "fumehood.local/sandbox"

// imageUser and imagePath go into the image config.
const (
	imageUser = "1000:1000"
	imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

func recipeSum(recipe []byte) string {
	sum := sha256.Sum256(recipe)
	return hex.EncodeToString(sum[:])
}

// ImageRef is the image name for a recipe:
// "fumehood.local/sandbox:<first 12 hex of sha256(recipe)>".
func ImageRef(recipe []byte) string {
	return imageRepo + ":" + recipeSum(recipe)[:12]
}

// BuildImage runs recipe (the script's bytes) as `/bin/sh recipe ROOTFS
// DOWNLOADS ARGS...` into a fresh dir under cacheDir unless an OCI tar for
// sha256(recipe) already exists there, packs the rootfs as a single-layer
// OCI image tar (see packRootfs), and returns its path. DOWNLOADS is
// cacheDir/downloads, kept between builds so that a rebuild reuses what an
// earlier one fetched; args are the recipe's own (the Debian mirror and
// the npm registry URLs of deploy/image/recipe.sh). The build dir is
// removed afterwards, whether the build succeeded or not.
func BuildImage(ctx context.Context, recipe []byte, cacheDir string, args ...string) (tarPath string, err error) {
	sum := recipeSum(recipe)
	tarPath = filepath.Join(cacheDir, "sandbox-"+sum+".tar")
	if _, err := os.Stat(tarPath); err == nil {
		return tarPath, nil
	}
	downloads := filepath.Join(cacheDir, "downloads")
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	work, err := os.MkdirTemp(cacheDir, "build-"+sum[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	defer func() {
		// The recipe may leave mounts (debootstrap mounts /proc); never
		// recurse into them.
		if uerr := unmountUnder(work); uerr != nil {
			err = errors.Join(err, fmt.Errorf("build image: leaving %s: %w", work, uerr))
			return
		}
		if rerr := os.RemoveAll(work); rerr != nil {
			err = errors.Join(err, fmt.Errorf("build image: %w", rerr))
		}
	}()
	script := filepath.Join(work, "recipe.sh")
	if err := os.WriteFile(script, recipe, 0o755); err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	rootfs := filepath.Join(work, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	out := &tailBuffer{max: 8 << 10}
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{script, rootfs, downloads}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build image: recipe: %w; output ends: %s", err, out.String())
	}
	if err := packRootfs(ctx, rootfs, tarPath); err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	return tarPath, nil
}

// packRootfs writes rootfs as a single-layer OCI image tar (an OCI image
// layout in a tar) to dst, atomically. The layer is an uncompressed tar made
// by GNU tar with --numeric-owner, without the contents of /dev, /proc and
// /sys (the directories themselves stay); the config sets the user 1000:1000,
// PATH, and `sleep infinity` as command, and nothing host-specific (no
// hostname, no creation time), so the same rootfs gives the same digests.
func packRootfs(ctx context.Context, rootfs, dst string) (err error) {
	layer, err := os.CreateTemp(filepath.Dir(dst), ".layer-*")
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	defer func() {
		layer.Close()
		os.Remove(layer.Name())
	}()
	h := sha256.New()
	cmd := exec.CommandContext(ctx, "tar", "-C", rootfs, "--numeric-owner", "--sort=name",
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "-cf", "-", ".")
	cmd.Stdout = io.MultiWriter(layer, h)
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pack %s: tar: %w: %s", rootfs, err, stderr.String())
	}
	size, err := layer.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	if _, err := layer.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	d := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
	config := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config: ocispec.ImageConfig{
			User: imageUser,
			Env:  []string{imagePath},
			Cmd:  []string{"sleep", "infinity"},
		},
	}
	layers := []imageLayer{{
		desc:   ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: size},
		diffID: d,
		r:      layer,
	}}
	if _, err := writeImageTar(dst, config, layers, nil); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	return nil
}

// AppImageRef is the name of fumehood's own image, the one the Kubernetes
// manifests (deploy/kubernetes) run: `make image` writes it with
// BuildAppImage.
const AppImageRef = "fumehood.local/fumehood:latest"

// appBinary is where the app image holds the fumehood executable.
const appBinary = "usr/local/bin/fumehood"

// ErrBaseImage is returned when the base of an app image is not an OCI
// image tar of one single-layer image.
var ErrBaseImage = errors.New("unusable base image")

// AppImage is what BuildAppImage makes an image of.
type AppImage struct {
	// Base is a sandbox image tar (BuildImage's): its one layer, copied
	// as it is, is the app image's first, so the app has the sandbox's
	// Debian, node and npm (a worker runs the sandbox image's node and
	// npm on its own filesystem to resolve dependencies).
	Base string
	// Binary is the fumehood executable, the second layer's one file
	// (/usr/local/bin/fumehood).
	Binary string
	// Ref names the image in the tar's index (io.containerd.image.name
	// and org.opencontainers.image.ref.name), so that `ctr images import`
	// imports it under that name; empty means AppImageRef.
	Ref string
	// Version is the org.opencontainers.image.version label.
	Version string
}

// BuildAppImage writes a two-layer OCI image tar of app to dst,
// atomically, and returns its manifest's descriptor. The first layer is
// the base's; the second holds the binary as /usr/local/bin/fumehood
// (mode 0755, owner 0:0, fixed times, with its parent directories). The
// config runs `fumehood serve` as root (Entrypoint /usr/local/bin/fumehood,
// Cmd serve: a pod's args replace the command), with the sandbox image's
// PATH and labels naming fumehood and app.Version, and nothing
// host-specific: the same base, binary and version give the same digests.
// A base with other than one image of one layer is an ErrBaseImage.
func BuildAppImage(ctx context.Context, app AppImage, dst string) (ocispec.Descriptor, error) {
	f, err := os.Open(app.Base)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: %w", err)
	}
	defer f.Close()
	base := imageTar{f}
	baseConfig, baseLayer, err := base.singleLayer()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: base %s: %w", app.Base, err)
	}
	binLayer, err := binaryLayer(app.Binary)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: %w", err)
	}
	baseBlob, err := base.blob(baseLayer)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: base %s: %w", app.Base, err)
	}
	binDigest := digest.FromBytes(binLayer)
	layers := []imageLayer{
		{desc: baseLayer, diffID: baseConfig.RootFS.DiffIDs[0], r: baseBlob},
		{
			desc:   ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: binDigest, Size: int64(len(binLayer))},
			diffID: binDigest,
			r:      bytes.NewReader(binLayer),
		},
	}
	config := ocispec.Image{
		Platform: baseConfig.Platform,
		Config: ocispec.ImageConfig{
			User:       "0:0",
			Env:        []string{imagePath},
			Entrypoint: []string{"/" + appBinary},
			Cmd:        []string{"serve"},
			Labels: map[string]string{
				ocispec.AnnotationTitle:   "fumehood",
				ocispec.AnnotationVersion: app.Version,
			},
		},
	}
	ref := app.Ref
	if ref == "" {
		ref = AppImageRef
	}
	annotations := map[string]string{images.AnnotationImageName: ref, ocispec.AnnotationRefName: ref}
	desc, err := writeImageTar(dst, config, layers, annotations)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("app image: %w", err)
	}
	return desc, nil
}

// binaryLayer returns an uncompressed layer tar that holds the file binary
// as appBinary, and its parent directories.
func binaryLayer(binary string) ([]byte, error) {
	content, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	epoch := time.Unix(0, 0)
	var headers []*tar.Header
	parts := strings.Split(path.Dir(appBinary), "/")
	for i := range parts {
		headers = append(headers, &tar.Header{Typeflag: tar.TypeDir, Name: strings.Join(parts[:i+1], "/") + "/", Mode: 0o755, ModTime: epoch})
	}
	headers = append(headers, &tar.Header{Typeflag: tar.TypeReg, Name: appBinary, Mode: 0o755, Size: int64(len(content)), ModTime: epoch})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range headers {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// imageLayer is a layer of an image tar being written: its descriptor, its
// diff id (the digest of its uncompressed tar; the descriptor's digest for
// an uncompressed layer) and its content.
type imageLayer struct {
	desc   ocispec.Descriptor
	diffID digest.Digest
	r      io.Reader
}

// writeImageTar writes an OCI image layout of one image as a tar to dst,
// atomically (a temporary file in dst's directory, renamed), and returns
// the manifest's descriptor. config's rootfs is set to the layers' diff
// ids; annotations go on the manifest's entry in index.json. The tar holds
// oci-layout, index.json, the config, the manifest and the layers in
// order, with no owners or times, so the same input gives the same bytes.
func writeImageTar(dst string, config ocispec.Image, layers []imageLayer, annotations map[string]string) (_ ocispec.Descriptor, err error) {
	config.RootFS = ocispec.RootFS{Type: "layers"}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
	}
	for _, l := range layers {
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, l.diffID)
		manifest.Layers = append(manifest.Layers, l.desc)
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	manifest.Config = blobDesc(ocispec.MediaTypeImageConfig, configJSON)
	manifestJSON, err := json.Marshal(manifest)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	manifestDesc := blobDesc(ocispec.MediaTypeImageManifest, manifestJSON)
	manifestDesc.Platform = &config.Platform
	manifestDesc.Annotations = annotations
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifestDesc},
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), ".image-*")
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	type file struct {
		name string
		size int64
		r    io.Reader
	}
	files := []file{
		{ocispec.ImageLayoutFile, int64(len(layout)), bytes.NewReader(layout)},
		{ocispec.ImageIndexFile, int64(len(index)), bytes.NewReader(index)},
		{blobPath(manifest.Config.Digest), manifest.Config.Size, bytes.NewReader(configJSON)},
		{blobPath(manifestDesc.Digest), manifestDesc.Size, bytes.NewReader(manifestJSON)},
	}
	for _, l := range layers {
		files = append(files, file{blobPath(l.desc.Digest), l.desc.Size, l.r})
	}
	tw := tar.NewWriter(tmp)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: f.size, Typeflag: tar.TypeReg}); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
		}
		if _, err := io.Copy(tw, f.r); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("write %s: %s: %w", dst, f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write %s: %w", dst, err)
	}
	return manifestDesc, nil
}

// imageTar reads an OCI image tar (an OCI image layout in a tar).
type imageTar struct{ f *os.File }

// maxJSON bounds what imageTar reads of index.json, a manifest or a config.
const maxJSON = 4 << 20

// singleLayer returns the config and the one layer of the tar's one image,
// or an ErrBaseImage if it holds other than one image of one layer.
func (t imageTar) singleLayer() (ocispec.Image, ocispec.Descriptor, error) {
	var index ocispec.Index
	r, _, err := t.open(ocispec.ImageIndexFile)
	if err != nil {
		return ocispec.Image{}, ocispec.Descriptor{}, err
	}
	if err := decodeJSON(r, &index); err != nil {
		return ocispec.Image{}, ocispec.Descriptor{}, fmt.Errorf("%s: %w", ocispec.ImageIndexFile, err)
	}
	if n := len(index.Manifests); n != 1 || index.Manifests[0].MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Image{}, ocispec.Descriptor{}, fmt.Errorf("%w: %s lists %d entries, want one image manifest", ErrBaseImage, ocispec.ImageIndexFile, n)
	}
	var manifest ocispec.Manifest
	if err := t.decodeBlob(index.Manifests[0], &manifest); err != nil {
		return ocispec.Image{}, ocispec.Descriptor{}, err
	}
	if n := len(manifest.Layers); n != 1 {
		return ocispec.Image{}, ocispec.Descriptor{}, fmt.Errorf("%w: manifest %s has %d layers, want 1", ErrBaseImage, index.Manifests[0].Digest, n)
	}
	var config ocispec.Image
	if err := t.decodeBlob(manifest.Config, &config); err != nil {
		return ocispec.Image{}, ocispec.Descriptor{}, err
	}
	if n := len(config.RootFS.DiffIDs); n != 1 {
		return ocispec.Image{}, ocispec.Descriptor{}, fmt.Errorf("%w: config %s has %d diff ids, want 1", ErrBaseImage, manifest.Config.Digest, n)
	}
	return config, manifest.Layers[0], nil
}

// decodeBlob decodes the JSON blob d into v.
func (t imageTar) decodeBlob(d ocispec.Descriptor, v any) error {
	r, err := t.blob(d)
	if err != nil {
		return err
	}
	if err := decodeJSON(r, v); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	return nil
}

func decodeJSON(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, maxJSON+1))
	if err != nil {
		return err
	}
	if len(b) > maxJSON {
		return fmt.Errorf("%w: over %d bytes of JSON", ErrBaseImage, maxJSON)
	}
	return json.Unmarshal(b, v)
}

// blob returns a reader of the blob d. At its end the reader fails if
// what it read does not have d's digest.
func (t imageTar) blob(d ocispec.Descriptor) (io.Reader, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%w: blob %q: %w", ErrBaseImage, d.Digest, err)
	}
	r, size, err := t.open(blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	if size != d.Size {
		return nil, fmt.Errorf("%w: blob %s: %d bytes, its descriptor says %d", ErrBaseImage, d.Digest, size, d.Size)
	}
	return &verifiedReader{r: r, d: d.Digest, v: d.Digest.Verifier()}, nil
}

// open returns a reader of the tar's file name and its size. It reads the
// tar from its start: the reader is good until the next open.
func (t imageTar) open(name string) (io.Reader, int64, error) {
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	tr := tar.NewReader(t.f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("%w: no %s in it", ErrBaseImage, name)
		}
		if err != nil {
			return nil, 0, err
		}
		if h.Typeflag == tar.TypeReg && path.Clean(h.Name) == name {
			return tr, h.Size, nil
		}
	}
}

// verifiedReader reads r, and fails at its end if what it read does not
// have the digest d.
type verifiedReader struct {
	r io.Reader
	d digest.Digest
	v digest.Verifier
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.v.Write(p[:n])
	if errors.Is(err, io.EOF) && !v.v.Verified() {
		return n, fmt.Errorf("%w: blob %s: content does not match its digest", ErrBaseImage, v.d)
	}
	return n, err
}

func blobDesc(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func blobPath(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// ImportImage imports the OCI image tar at tarPath into containerd under the
// name ref and unpacks it for the overlayfs snapshotter. It does nothing if
// ref is already there and unpacked.
func (s *Sandbox) ImportImage(ctx context.Context, tarPath, ref string) error {
	ctx = s.nsCtx(ctx)
	if img, err := s.client.GetImage(ctx, ref); err == nil {
		if ok, err := img.IsUnpacked(ctx, snapshotter); err == nil && ok {
			return nil
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	f, err := os.Open(tarPath)
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer f.Close()
	imgs, err := s.client.Import(ctx, f, client.WithIndexName(ref))
	if err != nil {
		return fmt.Errorf("import %s from %s: %w", ref, tarPath, err)
	}
	for _, m := range imgs {
		if m.Name != ref {
			continue
		}
		if err := client.NewImage(s.client, m).Unpack(ctx, snapshotter); err != nil {
			return fmt.Errorf("unpack %s: %w", ref, err)
		}
		s.log.InfoContext(ctx, "image imported", "ref", ref, "digest", m.Target.Digest)
		return nil
	}
	return fmt.Errorf("import %s from %s: %w: no image of that name in the tar", ref, tarPath, ErrImageNotFound)
}

// ImageDigest returns the digest that the sandbox image's ref
// (Config.Image) points at: it names the image's content, whatever ref it
// was imported as.
func (s *Sandbox) ImageDigest(ctx context.Context) (digest.Digest, error) {
	img, err := s.client.GetImage(s.nsCtx(ctx), s.image)
	if err != nil {
		return "", fmt.Errorf("look up image %s: %w", s.image, err)
	}
	return img.Target().Digest, nil
}

// CopyFromImage writes what the sandbox image holds at each of paths
// (relative to its root: a file, or a directory with all it holds) under
// dir, at the same relative paths. It reads the image's layers from
// containerd's content store in order and mounts and runs nothing; what it
// writes belongs to the caller (owners are not kept). A path the image
// does not hold is an error.
func (s *Sandbox) CopyFromImage(ctx context.Context, dir string, paths ...string) error {
	ctx = s.nsCtx(ctx)
	img, err := s.client.GetImage(ctx, s.image)
	if err != nil {
		return fmt.Errorf("copy from image %s: %w", s.image, err)
	}
	manifest, err := images.Manifest(ctx, img.ContentStore(), img.Target(), img.Platform())
	if err != nil {
		return fmt.Errorf("copy from image %s: %w", s.image, err)
	}
	found := make(map[string]bool, len(paths))
	keep := func(h *tar.Header) (bool, error) {
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		for _, p := range paths {
			if name == p || strings.HasPrefix(name, p+"/") {
				found[p] = true
				return true, nil
			}
		}
		return false, nil
	}
	for _, layer := range manifest.Layers {
		if err := applyLayer(ctx, img.ContentStore(), layer, dir, keep); err != nil {
			return fmt.Errorf("copy from image %s: %w", s.image, err)
		}
	}
	for _, p := range paths {
		if !found[p] {
			return fmt.Errorf("copy from image %s: %w: no %s in it", s.image, ErrImageNotFound, p)
		}
	}
	return nil
}

// applyLayer unpacks the entries of layer that keep accepts under dir.
func applyLayer(ctx context.Context, store content.Provider, layer ocispec.Descriptor, dir string, keep archive.Filter) error {
	ra, err := store.ReaderAt(ctx, layer)
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	defer ra.Close()
	r, err := compression.DecompressStream(content.NewReader(ra))
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	defer r.Close()
	if _, err := archive.Apply(ctx, dir, r, archive.WithFilter(keep), archive.WithNoSameOwner()); err != nil {
		return fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	return nil
}

// HasImage reports whether containerd knows the image ref.
func (s *Sandbox) HasImage(ctx context.Context, ref string) (bool, error) {
	_, err := s.client.GetImage(s.nsCtx(ctx), ref)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("look up image %s: %w", ref, err)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
