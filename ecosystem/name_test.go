package ecosystem

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNameArtifact: registry bytes kept under a name that does not tell
// their format get the name pip needs: a wheel its PEP 427 name from its
// .dist-info and WHEEL tags; an sdist and npm tarballs keep theirs.
func TestNameArtifact(t *testing.T) {
	whl := func(tags ...string) []byte {
		body := "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
		for _, tag := range tags {
			body += "Tag: " + tag + "\n"
		}
		return zipFile(t, member{name: "demo/__init__.py", body: ""},
			member{name: "demo-1.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"},
			member{name: "demo-1.0.dist-info/WHEEL", body: body})
	}
	tests := []struct {
		name, eco string
		data      []byte
		want      string // base name; "" an error
	}{
		{"pure wheel", PyPI, whl("py3-none-any"), "demo-1.0-py3-none-any.whl"},
		{"compressed tags", PyPI, whl("py2-none-any", "py3-none-any"), "demo-1.0-py2.py3-none-any.whl"},
		{"platform wheel", PyPI, whl("cp313-cp313-manylinux_2_17_x86_64", "cp313-cp313-manylinux2014_x86_64"),
			"demo-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
		{"wheel without tags", PyPI, whl(), ""},
		{"wheel without WHEEL", PyPI, wheel(t, "demo", "1.0"), ""},
		{"sdist", PyPI, sdist(t, "demo", "1.0"), "artifact.tar.gz"},
		{"npm", NPM, npmTarball(t, pkgJSON), "artifact.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(t.TempDir(), "artifact.tar.gz"), tt.data)
			got, err := NameArtifact(Config{}, tt.eco, file)
			if tt.want == "" {
				if !errors.Is(err, ErrBadArtifact) {
					t.Fatalf("NameArtifact = %q, %v; want ErrBadArtifact", got, err)
				}
				return
			}
			if err != nil || filepath.Base(got) != tt.want || filepath.Dir(got) != filepath.Dir(file) {
				t.Fatalf("NameArtifact = %q, %v; want %s beside it", got, err, tt.want)
			}
			if b, err := os.ReadFile(got); err != nil || string(b) != string(tt.data) {
				t.Errorf("the renamed file does not hold the bytes: %v", err)
			}
		})
	}
}
