package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "app"}, "usage: fumehood image app"},
		{[]string{"image", "app", "a.tar", "b.tar"}, "usage: fumehood image app"},
		{[]string{"image", "app", "--containerd", "/run/x.sock", "a.tar"}, "flag provided but not defined: -containerd"},
		{[]string{"image", "frob"}, "want build, import or app"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitBadInput || !strings.Contains(stderr, tt.want) {
			t.Errorf("fumehood %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, exitBadInput, tt.want)
		}
	}
}

func TestImageBuildVersion(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	if got := buildVersion(); got != "v1.2.3" {
		t.Errorf("buildVersion with version set: %q, want v1.2.3", got)
	}
	version = ""
	if got := buildVersion(); got == "" {
		t.Errorf("buildVersion without version: empty, want the stamped version or devel")
	}
}

func TestImageCopyFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("layers"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "layers" {
		t.Errorf("dst after copyFile: %q, %v; want the source's bytes", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("copyFile left %v, want only src and dst", entries)
	}
	if err := copyFile(filepath.Join(dir, "none"), dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("copyFile of a missing source: %v, want not exist", err)
	}
}
