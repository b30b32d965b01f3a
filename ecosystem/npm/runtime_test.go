package npm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeProgram writes an executable shell script at path that appends its
// arguments and then its PATH, one a line, to log and exits 0.
func fakeProgram(t *testing.T, path, log string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\" >> " + log + "; done\necho \"PATH=$PATH\" >> " + log + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareRuntime checks which npm Prepare runs: the runtime's node
// with the runtime's npm-cli.js, its bin first on PATH, or the host's npm
// for the zero Runtime; scripts off either way.
func TestPrepareRuntime(t *testing.T) {
	prefix := t.TempDir()
	hostBin := t.TempDir()
	log := filepath.Join(t.TempDir(), "argv")
	fakeProgram(t, filepath.Join(prefix, "bin", "node"), log)
	fakeProgram(t, filepath.Join(hostBin, "npm"), log)
	t.Setenv("PATH", hostBin+":/usr/bin:/bin")
	cli := filepath.Join(prefix, "lib", "node_modules", "npm", "bin", "npm-cli.js")

	tests := []struct {
		name      string
		rt        Runtime
		wantFirst []string // the arguments before npm's own
		wantPath  string   // PATH starts with
	}{
		{"image runtime", Runtime{Prefix: prefix}, []string{cli}, "PATH=" + filepath.Join(prefix, "bin") + ":" + hostBin},
		{"host npm", Runtime{}, nil, "PATH=" + hostBin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(log)
			cache := t.TempDir()
			m := Manifest{Name: "demo", Version: "1.0.0", Dependencies: map[string]string{"dep": "^1.0.0"}}
			if err := Prepare(context.Background(), tt.rt, "http://127.0.0.1:9/", m, cache); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("npm did not run: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			path := lines[len(lines)-1]
			argv := lines[:len(lines)-1]
			want := append(slices.Clone(tt.wantFirst), "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-bin-links", "--cache", cache, "--registry", "http://127.0.0.1:9/")
			if !slices.Equal(argv, want) {
				t.Errorf("npm argv:\n got %q\nwant %q", argv, want)
			}
			if !strings.HasPrefix(path, tt.wantPath) {
				t.Errorf("npm ran with %s, want it to start with %s", path, tt.wantPath)
			}
		})
	}
}

func TestNodeVersion(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"official build", "echo v24.22.3", "24.22.3"},
		{"not a version", "echo hello", ""},
		{"fails", "exit 3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := t.TempDir()
			node := filepath.Join(prefix, "bin", "node")
			os.MkdirAll(filepath.Dir(node), 0o755)
			if err := os.WriteFile(node, []byte("#!/bin/sh\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := Runtime{Prefix: prefix}.NodeVersion(context.Background())
			if tt.want == "" {
				if err == nil {
					t.Errorf("NodeVersion = %q, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NodeVersion = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
