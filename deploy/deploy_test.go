package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMirrorIn(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"deb822", "Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n", "http://mirror.test/debian"},
		{"one-line", "# comment\ndeb [arch=amd64] http://mirror.test/debian bookworm main\n", "http://mirror.test/debian"},
		{"security only", "deb http://mirror.test/debian-security bookworm-security main\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "sources")
			if err := os.WriteFile(f, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := mirrorIn(f); got != tt.want {
				t.Errorf("mirrorIn = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecipeEmbedded(t *testing.T) {
	if len(ImageRecipe) == 0 || string(ImageRecipe[:2]) != "#!" {
		t.Fatalf("recipe not embedded: %q", ImageRecipe[:min(20, len(ImageRecipe))])
	}
}

// TestRecipeInit checks that init.c is spliced whole into the recipe's
// here-document, which nothing in it can end early.
func TestRecipeInit(t *testing.T) {
	if n := bytes.Count(recipeScript, []byte(initPlaceholder)); n != 1 {
		t.Fatalf("recipe has %d init placeholders, want 1", n)
	}
	if !bytes.Contains(ImageRecipe, append([]byte("<<'INIT_C'\n"), initSource...)) {
		t.Error("init.c is not in the recipe's here-document")
	}
	if bytes.Contains(initSource, []byte("\nINIT_C\n")) {
		t.Error("init.c holds the here-document's end marker")
	}
}
