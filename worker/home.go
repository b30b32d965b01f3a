package worker

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/sandbox"
	"github.com/fumehood/fumehood/trace"
)

// developer is the sandbox's user in one analysis: its persona, and the
// uid (a workspace's, no host account's) its files and processes have.
type developer struct {
	Persona
	uid uint32
}

// account names the developer in the container's /etc/passwd.
func (d developer) account() sandbox.Account {
	return sandbox.Account{Name: d.User, FullName: d.FullName + ",,,", Home: d.Home(), Shell: "/bin/bash"}
}

// baseEnv is the environment of a developer's shell. CI is deliberately
// unset: the sandbox is a workstation (see README.md, "Sandbox profile").
func (d developer) baseEnv() []string {
	return []string{
		"PATH=" + d.Home() + "/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + d.Home(),
		"USER=" + d.User,
		"LOGNAME=" + d.User,
		"SHELL=/bin/bash",
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
		"EDITOR=vim",
		"PIP_BREAK_SYSTEM_PACKAGES=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
	}
}

// ciEnv is what a CI job adds to the developer's environment, for the ci
// phase (ecosystem.PhaseCI): a GitHub Actions runner's variables for the
// persona's project. The token variables are the planted ones every
// phase has.
func (d developer) ciEnv() []string {
	org, _, _ := strings.Cut(d.Company, ".")
	return []string{
		"CI=true",
		"GITHUB_ACTIONS=true",
		"GITHUB_WORKFLOW=CI",
		"GITHUB_JOB=build",
		"GITHUB_EVENT_NAME=push",
		"GITHUB_REF=refs/heads/main",
		"GITHUB_REF_NAME=main",
		"GITHUB_REPOSITORY=" + org + "/" + d.Project,
		"GITHUB_REPOSITORY_OWNER=" + org,
		"GITHUB_ACTOR=" + d.User,
		"GITHUB_RUN_ID=" + strconv.FormatUint(d.RunID, 10),
		"GITHUB_RUN_NUMBER=" + strconv.FormatUint(d.RunID%997+1, 10),
		"GITHUB_WORKSPACE=" + d.ProjectDir(),
		"RUNNER_OS=Linux",
		"RUNNER_ARCH=X64",
		"RUNNER_TEMP=/tmp",
		"RUNNER_ENVIRONMENT=github-hosted",
	}
}

// homeDirs are the dot-folders of a developer's home.
var homeDirs = []string{".config", ".cache", ".local/bin", ".local/share", ".ssh", ".aws", ".docker", ".kube",
	".config/google-chrome/Default", ".config/discord/Local Storage/leveldb"}

// plant lays out the developer's home on the host side of the workspace:
// the dot-folders and shell files, the artifact under Downloads, a git
// project to install into, and the offline package cache, all owned by
// the developer.
func (p *Pipeline) plant(ctx context.Context, art ecosystem.Artifact, hostHome string, dev developer) (ecosystem.Layout, error) {
	home := dev.Home()
	l := ecosystem.Layout{
		Home:     home,
		Project:  dev.ProjectDir(),
		Artifact: home + "/Downloads/" + filepath.Base(art.File),
		Cache:    home + "/.npm",
	}
	if art.Ecosystem == "pypi" {
		l.Cache = home + "/.cache/pip/offline"
	}
	host := func(p string) string { return filepath.Join(hostHome, p[len(home):]) }
	dirs := []string{l.Project + "/.git/refs/heads", l.Project + "/.git/objects", l.Cache, filepath.Dir(l.Artifact)}
	for _, d := range homeDirs {
		dirs = append(dirs, home+"/"+d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(host(d), 0o755); err != nil {
			return l, fmt.Errorf("plant home: %w", err)
		}
	}
	if err := writeFiles(hostHome, dev.shellFiles(), dev.uid); err != nil {
		return l, err
	}
	if err := writeFiles(host(l.Project), dev.projectFiles(), dev.uid); err != nil {
		return l, err
	}
	if err := copyFile(art.File, host(l.Artifact)); err != nil {
		return l, err
	}
	if p.nodeVersion != "" {
		if err := plantNodeGyp(hostHome, p.nodeVersion); err != nil {
			return l, err
		}
	}
	if !art.Dynamic { // its requirements are known after its metadata phase
		if err := p.prepare(ctx, art, l, hostHome, dev.uid); err != nil {
			return l, err
		}
	}
	return l, chownTree(hostHome, dev.uid)
}

// shellFiles are the developer's shell start-up files and history.
func (d developer) shellFiles() []honeytoken.File {
	return []honeytoken.File{
		{Path: ".bashrc", Mode: 0o644, Data: []byte("# ~/.bashrc\ncase $- in *i*) ;; *) return;; esac\nHISTCONTROL=ignoreboth\n" +
			"export PATH=\"$HOME/.local/bin:$PATH\"\nalias ll='ls -alF'\n")},
		{Path: ".profile", Mode: 0o644, Data: []byte("# ~/.profile\n[ -n \"$BASH_VERSION\" ] && [ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"\n")},
		{Path: ".bash_history", Mode: 0o600, Data: []byte(strings.Join(d.History, "\n") + "\n")},
	}
}

// projectFiles are the developer's project: a package.json with a test
// script (the session phase runs it) and an empty git repository.
func (d developer) projectFiles() []honeytoken.File {
	return []honeytoken.File{
		{Path: "package.json", Mode: 0o644, Data: []byte("{\n  \"name\": \"" + d.Project + "\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n" +
			"  \"scripts\": {\n    \"test\": \"node test.js\"\n  }\n}\n")},
		{Path: "test.js", Mode: 0o644, Data: []byte("const assert = require('assert');\nassert.strictEqual(1 + 1, 2);\nconsole.log('ok');\n")},
		{Path: ".git/HEAD", Mode: 0o644, Data: []byte("ref: refs/heads/main\n")},
		{Path: ".git/config", Mode: 0o644, Data: []byte("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n")},
	}
}

// plantEvents returns a plant event for each planted secret, and one at
// trace.PlantEnvCopy. One in a file carries the identity of the file
// written under hostHome, a token variable and the copy that of its marker
// under hostEnviron (see environ). The workspace is one tmpfs that the
// sandbox mounts, so stat(2) here gives the device and inode its opens
// record (see bpf: the probe's s_dev converted to st_dev's encoding).
func plantEvents(tokens []honeytoken.Token, hostHome, home, hostEnviron string, at time.Time) ([]trace.Event, error) {
	events := make([]trace.Event, 0, len(tokens)+1)
	for _, tok := range append(slices.Clip(tokens), honeytoken.Token{Name: "environment", Where: trace.PlantEnvCopy}) {
		e := trace.Event{Time: at, Kind: trace.KindPlant, Name: tok.Name, Path: tok.Where, Data: []byte(tok.Value), Addr: tok.Issuer}
		file, ok := environMarker(hostEnviron, tok.Where)
		if rel, inHome := strings.CutPrefix(tok.Where, home+"/"); inHome {
			file, ok = filepath.Join(hostHome, rel), true
		}
		if ok {
			var st syscall.Stat_t
			if err := syscall.Stat(file, &st); err != nil {
				return nil, fmt.Errorf("plant %s: %w", tok.Where, err)
			}
			e.Dev, e.Ino = st.Dev, st.Ino
		}
		events = append(events, e)
	}
	return events, nil
}

// prepare fills the offline package cache of layout l (under hostHome on
// the host) for art, owned by uid.
func (p *Pipeline) prepare(ctx context.Context, art ecosystem.Artifact, l ecosystem.Layout, hostHome string, uid uint32) error {
	cache := filepath.Join(hostHome, l.Cache[len(l.Home):])
	if err := ecosystem.Prepare(ctx, p.cfg.Ecosystem, art, cache); err != nil {
		return fmt.Errorf("prepare offline cache: %w", err)
	}
	return chownTree(cache, uid)
}

// writeFiles writes files under dir, creating parents, owned by uid.
func writeFiles(dir string, files []honeytoken.File, uid uint32) error {
	for _, f := range files {
		path := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("plant %s: %w", f.Path, err)
		}
		if err := os.WriteFile(path, f.Data, fs.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("plant %s: %w", f.Path, err)
		}
	}
	return chownTree(dir, uid)
}

func chownTree(dir string, uid uint32) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(uid), int(uid))
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

// caFiles put the sinkhole's CA where the sandbox's TLS clients look: the
// local CA directory and the system bundle (the sandbox has no route to
// any other certificate holder, so the bundle holds this CA alone).
func caFiles(pem []byte) []sandbox.File {
	return []sandbox.File{
		{Path: caPath, Data: pem, Mode: 0o644},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Data: pem, Mode: 0o644},
	}
}

// hostOf returns the host[:port] of a registry URL.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}
