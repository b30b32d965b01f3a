package archive

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck feeds arbitrary bytes to both archive checks and to
// DigestTarGz: they must not panic, and every failure must be one of the
// sentinel classes.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("not an archive"))
	lim := Limits{MaxBytes: 1 << 16, MaxFiles: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for name, check := range map[string]func(string, Limits, func(string) bool) (Contents, error){"tar.gz": CheckTarGz, "zip": CheckZip} {
			c, err := check(p, lim, func(string) bool { return true })
			if err != nil && !errors.Is(err, ErrBadArtifact) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s: error %v is neither ErrBadArtifact nor ErrTooLarge", name, err)
			}
			if err == nil && len(c.Names) > lim.MaxFiles {
				t.Fatalf("%s: %d entries accepted, limit %d", name, len(c.Names), lim.MaxFiles)
			}
		}
		if _, err := DigestTarGz(p, lim, func(string) bool { return true }); err != nil && !errors.Is(err, ErrBadArtifact) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("digest: error %v is neither ErrBadArtifact nor ErrTooLarge", err)
		}
	})
}
