package worker

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/trace"
)

// baseEnv is the environment of a developer's shell. CI is deliberately
// unset: the sandbox is a workstation (see README.md, "Sandbox profile").
func baseEnv() []string {
	return []string{
		"PATH=" + home + "/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home,
		"USER=" + user,
		"LOGNAME=" + user,
		"SHELL=/bin/bash",
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
		"EDITOR=vim",
		"PIP_BREAK_SYSTEM_PACKAGES=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
	}
}

// plant lays out the developer's home on the host side of the workspace:
// the artifact under Downloads, a git project to install into, and the
// offline package cache, all owned by the sandbox user.
func (p *Pipeline) plant(ctx context.Context, art ecosystem.Artifact, hostHome string) (ecosystem.Layout, error) {
	l := ecosystem.Layout{
		Home:     home,
		Project:  home + "/projects/app",
		Artifact: home + "/Downloads/" + filepath.Base(art.File),
		Cache:    home + "/.npm",
	}
	if art.Ecosystem == "pypi" {
		l.Cache = home + "/.cache/pip/offline"
	}
	host := func(p string) string { return filepath.Join(hostHome, p[len(home):]) }
	for _, d := range []string{l.Project + "/.git/refs/heads", l.Project + "/.git/objects", l.Cache, filepath.Dir(l.Artifact)} {
		if err := os.MkdirAll(host(d), 0o755); err != nil {
			return l, fmt.Errorf("plant home: %w", err)
		}
	}
	project := []honeytoken.File{
		{Path: "package.json", Mode: 0o644, Data: []byte("{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}\n")},
		{Path: ".git/HEAD", Mode: 0o644, Data: []byte("ref: refs/heads/main\n")},
		{Path: ".git/config", Mode: 0o644, Data: []byte("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n")},
	}
	if err := writeFiles(host(l.Project), project); err != nil {
		return l, err
	}
	if err := copyFile(art.File, host(l.Artifact)); err != nil {
		return l, err
	}
	if !art.Dynamic { // its requirements are known after its metadata phase
		if err := p.prepare(ctx, art, l, hostHome); err != nil {
			return l, err
		}
	}
	return l, chownTree(hostHome)
}

// plantEvents returns a plant event for each planted secret; one in a file
// carries the identity of the file written under hostHome. The workspace
// is one tmpfs that the sandbox mounts, so stat(2) here gives the device
// and inode its opens record (see bpf: the probe's s_dev converted to
// st_dev's encoding).
func plantEvents(tokens []honeytoken.Token, hostHome string, at time.Time) ([]trace.Event, error) {
	events := make([]trace.Event, 0, len(tokens))
	for _, tok := range tokens {
		e := trace.Event{Time: at, Kind: trace.KindPlant, Name: tok.Name, Path: tok.Where, Data: []byte(tok.Value), Addr: tok.Issuer}
		if rel, ok := strings.CutPrefix(tok.Where, home+"/"); ok {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(hostHome, rel), &st); err != nil {
				return nil, fmt.Errorf("plant %s: %w", tok.Where, err)
			}
			e.Dev, e.Ino = st.Dev, st.Ino
		}
		events = append(events, e)
	}
	return events, nil
}

// prepare fills the offline package cache of layout l (under hostHome on
// the host) for art.
func (p *Pipeline) prepare(ctx context.Context, art ecosystem.Artifact, l ecosystem.Layout, hostHome string) error {
	cache := filepath.Join(hostHome, l.Cache[len(home):])
	if err := ecosystem.Prepare(ctx, p.cfg.Ecosystem, art, cache); err != nil {
		return fmt.Errorf("prepare offline cache: %w", err)
	}
	return chownTree(cache)
}

// writeFiles writes files under dir, creating parents, owned by the sandbox
// user.
func writeFiles(dir string, files []honeytoken.File) error {
	for _, f := range files {
		path := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("plant %s: %w", f.Path, err)
		}
		if err := os.WriteFile(path, f.Data, fs.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("plant %s: %w", f.Path, err)
		}
	}
	return chownTree(dir)
}

func chownTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return out.Close()
}

// trustCA writes the sinkhole's CA where the sandbox's TLS clients look:
// the local CA directory and the system bundle (the sandbox has no route
// to any other certificate holder, so the bundle holds this CA alone).
func trustCA(wsDir string, pem []byte) ([]sandbox.Mount, error) {
	dir := filepath.Join(wsDir, "ca")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trust ca: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(caPath)), pem, 0o644); err != nil {
		return nil, fmt.Errorf("trust ca: %w", err)
	}
	return []sandbox.Mount{
		{Source: dir, Target: filepath.Dir(caPath), ReadOnly: true},
		{Source: filepath.Join(dir, filepath.Base(caPath)), Target: "/etc/ssl/certs/ca-certificates.crt", ReadOnly: true},
	}, nil
}

// hostOf returns the host[:port] of a registry URL.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}
