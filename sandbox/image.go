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
	dir := filepath.Dir(dst)
	layer, err := os.CreateTemp(dir, ".layer-*")
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
	layerDesc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageLayer,
		Digest:    digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)),
		Size:      size,
	}
	platform := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	config, err := json.Marshal(ocispec.Image{
		Platform: platform,
		Config: ocispec.ImageConfig{
			User: imageUser,
			Env:  []string{imagePath},
			Cmd:  []string{"sleep", "infinity"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerDesc.Digest}},
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	configDesc := blobDesc(ocispec.MediaTypeImageConfig, config)
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	manifestDesc := blobDesc(ocispec.MediaTypeImageManifest, manifest)
	manifestDesc.Platform = &platform
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifestDesc},
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	if _, err := layer.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}

	tmp, err := os.CreateTemp(dir, ".image-*")
	if err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	tw := tar.NewWriter(tmp)
	files := []struct {
		name string
		size int64
		r    io.Reader
	}{
		{ocispec.ImageLayoutFile, int64(len(layout)), bytes.NewReader(layout)},
		{ocispec.ImageIndexFile, int64(len(index)), bytes.NewReader(index)},
		{blobPath(configDesc.Digest), configDesc.Size, bytes.NewReader(config)},
		{blobPath(manifestDesc.Digest), manifestDesc.Size, bytes.NewReader(manifest)},
		{blobPath(layerDesc.Digest), layerDesc.Size, layer},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: f.size, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("pack %s: %w", rootfs, err)
		}
		if _, err := io.Copy(tw, f.r); err != nil {
			return fmt.Errorf("pack %s: %w", rootfs, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("pack %s: %w", rootfs, err)
	}
	return nil
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
