package lockfile

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/ecosystem"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func specs(ts []ecosystem.Target) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.String() + "\n")
	}
	return b.String()
}

func TestParseGolden(t *testing.T) {
	for _, name := range []string{"package-lock.json", "npm-shrinkwrap.json", "requirements.txt"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			ts, err := Parse(name, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := specs(ts)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Parse(%s):\ngot\n%s\nwant\n%s", name, got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             string // in the error message
	}{
		{"v1", "package-lock.json", `{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0"}}}`, "npm 7 or later"},
		{"no packages", "package-lock.json", `{"name":"x"}`, "npm 7 or later"},
		{"v4", "package-lock.json", `{"lockfileVersion":4,"packages":{}}`, "lockfileVersion 4"},
		{"not json", "package-lock.json", `{"lockfileVersion":`, "not a package-lock.json"},
		{"bad version", "package-lock.json", `{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"^1.0.0"}}}`, `packages["node_modules/a"]`},
		{"bad name", "package-lock.json", `{"lockfileVersion":3,"packages":{"node_modules/A":{"version":"1.0.0"}}}`, "lower case"},
		{"range", "requirements.txt", "a==1.0\nrequests>=2.0\n", "line 2"},
		{"compatible", "requirements.txt", "requests~=2.0\n", "not pinned"},
		{"wildcard", "requirements.txt", "requests==2.*\n", "range or wildcard"},
		{"arbitrary", "requirements.txt", "requests===2.0\n", "==="},
		{"two clauses", "requirements.txt", "requests==2.0,!=2.1\n", "range or wildcard"},
		{"unpinned", "requirements.txt", "requests\n", "no version"},
		{"url", "requirements.txt", "pkg @ https://files.example.test/pkg.whl\n", "URL or path"},
		{"path", "requirements.txt", "./local/pkg\n", "URL or path"},
		{"include", "requirements.txt", "-r base.txt\n", "-r includes another file"},
		{"constraint", "requirements.txt", "--constraint=c.txt\n", "includes another file"},
		{"editable", "requirements.txt", "-e .\n", "installs from a path"},
		{"unknown option", "requirements.txt", "--frobnicate\n", "not understood"},
		{"comment glued to version", "requirements.txt", "six==1.16.0#x\n", "line 1"},
		{"binary", "requirements.txt", "a==1.0\x00\n", "not a text"},
		{"bad name", "requirements.txt", "-bad-==1.0 x\n", "not understood"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := Parse(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.data, ts)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", tt.data, err)
			}
			if got := err.Error(); !strings.Contains(got, tt.want) || !strings.HasPrefix(got, tt.file+": ") {
				t.Errorf("Parse(%q) error = %q, want it to start with %q and name %q", tt.data, got, tt.file, tt.want)
			}
		})
	}
}

func TestParseFormatByName(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"", `{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0"}}}`, "npm:a@1.0.0\n"},
		{"", "a==1.0\n", "pypi:a==1.0\n"},
		{"reqs/prod.txt", "a==1.0\n", "pypi:a==1.0\n"},
		{`C:\work\package-lock.json`, `{"lockfileVersion":2,"packages":{"node_modules/b":{"version":"2.0.0"}}}`, "npm:b@2.0.0\n"},
		{"requirements.txt", "", ""},
	}
	for _, tt := range tests {
		ts, err := Parse(tt.name, []byte(tt.data))
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tt.name, tt.data, err)
			continue
		}
		if got := specs(ts); got != tt.want {
			t.Errorf("Parse(%q, %q) = %q, want %q", tt.name, tt.data, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"package-lock.json", "npm-shrinkwrap.json", "requirements.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	f.Add("requirements.txt", []byte("a[b]==1.0 ; x \\\n --hash=y\n-r z\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		ts, err := Parse(name, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tgt := range ts {
			back, err := ecosystem.Parse(tgt.String())
			if err != nil || back != tgt || tgt.Path != "" {
				t.Fatalf("target %+v does not round-trip through ecosystem.Parse: %+v, %v", tgt, back, err)
			}
			if seen[tgt.String()] {
				t.Fatalf("target %s twice", tgt)
			}
			seen[tgt.String()] = true
		}
	})
}
