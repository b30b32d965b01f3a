package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/worker"
)

// version is the build's version, set with -ldflags "-X main.version=V"
// (`make image` sets `git describe`); empty, buildVersion falls back on
// what the go command stamped.
var version string

func cmdImage(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) == 0 {
		return 0, usagef("usage: fumehood image build | import FILE | app FILE")
	}
	fs := newFlags(e, "image "+args[0])
	cache := fs.String("cache", envOr("FUMEHOOD_CACHE", sandbox.DefaultCacheDir), "`dir` where built images are cached")
	if args[0] == "app" {
		return imageApp(ctx, e, fs, cache, args[1:])
	}
	containerd := fs.String("containerd", envOr("FUMEHOOD_CONTAINERD", "/run/containerd/containerd.sock"), "containerd socket `address`")
	ref := fs.String("ref", sandbox.ImageRef(deploy.ImageRecipe), "image `ref` to import as")
	if err := parseFlags(fs, args[1:]); err != nil {
		return 0, err
	}
	var tarPath string
	switch args[0] {
	case "build":
		if fs.NArg() != 0 {
			return 0, usagef("image build takes no arguments")
		}
		var err error
		tarPath, err = sandboxImage(ctx, e, *cache, *ref)
		if err != nil {
			return 0, err
		}
	case "import":
		if fs.NArg() != 1 {
			return 0, usagef("usage: fumehood image import [flags] FILE")
		}
		tarPath = fs.Arg(0)
		if _, err := os.Stat(tarPath); err != nil {
			return 0, usageError{err.Error()}
		}
	default:
		return 0, usagef("unknown image command %q: want build, import or app", args[0])
	}
	sb, err := sandbox.New(ctx, sandbox.Config{Address: *containerd, Image: *ref, Logger: e.log})
	if err != nil {
		return 0, fmt.Errorf("%w: containerd at %s: %w", worker.ErrNotReady, *containerd, err)
	}
	defer sb.Close()
	if err := sb.ImportImage(ctx, tarPath, *ref); err != nil {
		return 0, err
	}
	fmt.Fprintln(e.stdout, *ref)
	return 0, nil
}

// sandboxImage returns the path of the sandbox image tar of this binary's
// recipe in cache, building it first if it is not there.
func sandboxImage(ctx context.Context, e *env, cache, ref string) (string, error) {
	mirror, err := deploy.DebianMirror()
	if err != nil {
		return "", err
	}
	eco, err := ecosystem.DefaultConfig(ctx)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(e.stderr, "building sandbox image %s (cached under %s)\n", ref, cache)
	return sandbox.BuildImage(ctx, deploy.ImageRecipe, cache, mirror, eco.NPMRegistry)
}

// imageApp writes fumehood's own image, the one the Kubernetes manifests
// run, as an OCI image tar: the sandbox image (built, or taken from the
// cache) with this executable added (sandbox.BuildAppImage). It prints the
// tar's path and imports nothing: `ctr images import` or any OCI tool
// loads it.
func imageApp(ctx context.Context, e *env, fs *flag.FlagSet, cache *string, args []string) (int, error) {
	ref := fs.String("ref", sandbox.AppImageRef, "image `ref` the tar names its image by")
	sandboxOut := fs.String("sandbox", "", "also write the sandbox image tar to `FILE`, for nodes that cannot build it (the worker DaemonSet imports it)")
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		return 0, usagef("usage: fumehood image app [flags] FILE")
	}
	dst := fs.Arg(0)
	base, err := sandboxImage(ctx, e, *cache, sandbox.ImageRef(deploy.ImageRecipe))
	if err != nil {
		return 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("app image: %w", err)
	}
	desc, err := sandbox.BuildAppImage(ctx, sandbox.AppImage{Base: base, Binary: self, Ref: *ref, Version: buildVersion()}, dst)
	if err != nil {
		return 0, err
	}
	if *sandboxOut != "" {
		if err := copyFile(base, *sandboxOut); err != nil {
			return 0, fmt.Errorf("sandbox image: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "image %s %s, manifest %s\n", *ref, buildVersion(), desc.Digest)
	fmt.Fprintln(e.stdout, dst)
	return 0, nil
}

// buildVersion is version, else the main module's version the go command
// stamped, else the commit it stamped (-dirty if the tree was modified),
// else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}

// copyFile copies src to dst, replacing dst atomically.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
