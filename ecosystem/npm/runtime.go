package npm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RuntimePaths are the files of a Node.js installation prefix that make up
// a Runtime, relative to the prefix, as the official Linux builds lay
// them out (and the sandbox image installs them under /usr/local).
var RuntimePaths = []string{"bin/node", "lib/node_modules/npm"}

// Runtime is a node and its npm on the host: Prefix/bin/node runs
// Prefix/lib/node_modules/npm/bin/npm-cli.js. Prepare resolves with the
// sandbox's own (copied out of its image), so that the offline install
// in the sandbox, which picks versions by the same npm and node, finds
// every version it picks in the cache. The zero Runtime is the host's
// npm on PATH, whose picks may differ from the sandbox's (a version whose
// engines its node rejects).
type Runtime struct {
	Prefix string
}

// command returns the npm command with args, run in dir with env. The
// runtime's bin comes first on PATH: npm starts node for its own helpers.
func (r Runtime) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	if r.Prefix == "" {
		cmd := exec.CommandContext(ctx, "npm", args...)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
	bin := filepath.Join(r.Prefix, "bin")
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "node"),
		append([]string{filepath.Join(r.Prefix, "lib", "node_modules", "npm", "bin", "npm-cli.js")}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd
}

// run runs npm with args in dir; its output ends the error.
func (r Runtime) run(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := r.command(ctx, dir, env, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, tail(out.Bytes(), 2048))
	}
	return nil
}

// NodeVersion returns the version of the runtime's node without its "v"
// (24.22.3): the official binary prints it and runs nothing else.
func (r Runtime) NodeVersion(ctx context.Context) (string, error) {
	node := "node"
	if r.Prefix != "" {
		node = filepath.Join(r.Prefix, "bin", "node")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node version: %w", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if !semver.MatchString(v) {
		return "", fmt.Errorf("node version: %q is not a version", out)
	}
	return v, nil
}
