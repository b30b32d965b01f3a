package worker

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadSandboxFile: the report a sandbox left is read only when it is
// a regular file inside the directory, and small.
func TestReadSandboxFile(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		make    func(p string) error
		want    string
		wantErr string
	}{
		{"regular", func(p string) error { return os.WriteFile(p, []byte(`{"install":[]}`), 0o644) }, `{"install":[]}`, ""},
		{"symlink out", func(p string) error { return os.Symlink(outside, p) }, "", "sandbox file"},
		{"relative symlink out", func(p string) error { return os.Symlink("../../"+filepath.Base(filepath.Dir(outside))+"/secret", p) }, "", "sandbox file"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "", "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "", "not a regular file"},
		{"too big", func(p string) error { return os.WriteFile(p, make([]byte, 65), 0o644) }, "", "over 64 bytes"},
		{"missing", func(string) error { return nil }, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.make(filepath.Join(dir, "report.json")); err != nil {
				t.Fatal(err)
			}
			got, err := readSandboxFile(dir, "report.json", 64)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readSandboxFile = %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("readSandboxFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
