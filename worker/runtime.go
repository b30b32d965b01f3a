package worker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/sandbox"
)

// imageNodePrefix is where the sandbox image installs node and npm
// (deploy/image/recipe.sh), relative to its root.
const imageNodePrefix = "usr/local"

// nodeGypInstallVersion is the "installVersion" of node-gyp's header
// cache that current node-gyp releases (npm's own among them) accept.
const nodeGypInstallVersion = "11"

// hostRuntime returns the sandbox image's node and npm on the host, for
// resolving npm dependencies with the very npm and node that install them
// in the sandbox. They are copied out of the image into
// cacheDir/runtime/<image digest> once per image (the official node
// binary runs on the host; it never runs package code there: npm.Prepare
// disables scripts).
func hostRuntime(ctx context.Context, sb *sandbox.Sandbox, cacheDir string) (npm.Runtime, error) {
	d, err := sb.ImageDigest(ctx)
	if err != nil {
		return npm.Runtime{}, err
	}
	parent := filepath.Join(cacheDir, "runtime")
	dir := filepath.Join(parent, d.Encoded())
	rt := npm.Runtime{Prefix: filepath.Join(dir, imageNodePrefix)}
	if _, err := os.Stat(dir); err == nil {
		return rt, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return npm.Runtime{}, fmt.Errorf("node runtime: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".copy-")
	if err != nil {
		return npm.Runtime{}, fmt.Errorf("node runtime: %w", err)
	}
	defer os.RemoveAll(tmp)
	paths := make([]string, len(npm.RuntimePaths))
	for i, p := range npm.RuntimePaths {
		paths[i] = imageNodePrefix + "/" + p
	}
	if err := sb.CopyFromImage(ctx, tmp, paths...); err != nil {
		return npm.Runtime{}, fmt.Errorf("node runtime: %w", err)
	}
	// Another process may have copied the same image meanwhile: its
	// copy is as good as ours.
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil {
			return npm.Runtime{}, fmt.Errorf("node runtime: %w", err)
		}
	}
	return rt, nil
}

// plantNodeGyp lays out node-gyp's header cache for node version under
// hostHome, as a developer's home has it once a native module was built:
// ~/.cache/node-gyp/VERSION with the headers the image installs. node-gyp
// then builds offline instead of downloading them.
func plantNodeGyp(hostHome, version string) error {
	dir := filepath.Join(hostHome, ".cache", "node-gyp", version)
	if err := os.MkdirAll(filepath.Join(dir, "include"), 0o755); err != nil {
		return fmt.Errorf("plant node-gyp headers: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "installVersion"), []byte(nodeGypInstallVersion+"\n"), 0o644); err != nil {
		return fmt.Errorf("plant node-gyp headers: %w", err)
	}
	if err := os.Symlink("/"+imageNodePrefix+"/include/node", filepath.Join(dir, "include", "node")); err != nil {
		return fmt.Errorf("plant node-gyp headers: %w", err)
	}
	return nil
}
