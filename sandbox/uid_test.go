package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClaimUID(t *testing.T) {
	dir := t.TempDir()
	a, err := claimUID(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := claimUID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != UIDBase || b.UID != UIDBase+1 {
		t.Errorf("claimed %d then %d, want %d then %d", a.UID, b.UID, UIDBase, UIDBase+1)
	}
	if err := a.release(); err != nil {
		t.Fatal(err)
	}
	c, err := claimUID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != UIDBase {
		t.Errorf("after a release claimed %d, want the freed %d", c.UID, UIDBase)
	}
	b.release()
	c.release()
}

func TestCheckUIDRange(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantErr             bool
	}{
		{"ordinary accounts", "passwd", "root:x:0:0:root:/root:/bin/bash\nalex:x:1000:1000::/home/alex:/bin/bash\n", false},
		{"account in range", "passwd", "svc:x:1854600007:100::/:/bin/false\n", true},
		{"group in range", "group", "g:x:1854604095:\n", true},
		{"group just above", "group", "g:x:1854604096:\n", false},
		{"subuid overlapping", "subuid", "alex:1854000000:1000000\n", true},
		{"subuid below", "subgid", "alex:100000:65536\n", false},
		{"garbage", "passwd", "no colons here\n::\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			etc := t.TempDir()
			if err := os.WriteFile(filepath.Join(etc, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := checkUIDRange(etc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkUIDRange: got %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.file) {
				t.Errorf("error %q does not name %s", err, tt.file)
			}
		})
	}
	if err := checkUIDRange(filepath.Join(t.TempDir(), "none")); err != nil {
		t.Errorf("no files: got %v, want nil", err)
	}
}
