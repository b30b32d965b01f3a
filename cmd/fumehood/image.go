package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/fumehood/fumehood/deploy"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/worker"
)

func cmdImage(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) == 0 {
		return 0, usagef("usage: fumehood image build | import FILE")
	}
	fs := flag.NewFlagSet("image "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	containerd := fs.String("containerd", envOr("FUMEHOOD_CONTAINERD", "/run/containerd/containerd.sock"), "containerd socket `address`")
	cache := fs.String("cache", envOr("FUMEHOOD_CACHE", sandbox.DefaultCacheDir), "`dir` where built images are cached")
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
		mirror, err := deploy.DebianMirror()
		if err != nil {
			return 0, err
		}
		eco, err := ecosystem.DefaultConfig(ctx)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(e.stderr, "building sandbox image %s (cached under %s)\n", *ref, *cache)
		tarPath, err = sandbox.BuildImage(ctx, deploy.ImageRecipe, *cache, mirror, eco.NPMRegistry)
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
		return 0, usagef("unknown image command %q: want build or import", args[0])
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
