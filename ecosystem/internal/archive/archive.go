package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

var (
	// ErrBadArtifact: the artifact is malformed, unsafe, or does not match
	// what the registry promised.
	ErrBadArtifact = errors.New("bad artifact")
	// ErrNotFound: the package or version does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: the artifact exceeds a size or entry limit.
	ErrTooLarge = errors.New("artifact too large")
)

// Limits bound what an archive may hold. The uncompressed total is bounded
// at ExpandFactor times MaxBytes (compression bombs).
type Limits struct {
	MaxBytes int64
	MaxFiles int
}

// ExpandFactor bounds the uncompressed size relative to MaxBytes.
const ExpandFactor = 8

// maxWanted bounds a metadata file returned to the caller.
const maxWanted = 4 << 20

// Entry is one archive member's name and, when the caller asked for it,
// its content.
type Entry struct {
	Name string
	Data []byte
}

// Contents is the result of a check: every member name in order, and the
// content of the members the caller wanted.
type Contents struct {
	Names []string
	Files map[string][]byte
}

// Digest returns "sha256:<hex>" and the size of the file at p.
func Digest(p string) (string, int64, error) {
	f, err := OpenRegular(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// checkSize stats the file at p against lim.
func checkSize(p string, lim Limits) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: %w", path.Base(p), ErrBadArtifact)
	}
	if st.Size() > lim.MaxBytes {
		return fmt.Errorf("%d bytes, limit %d: %w", st.Size(), lim.MaxBytes, ErrTooLarge)
	}
	return nil
}

// cleanName rejects absolute names and names that climb out of the
// archive root, and returns the name without a leading "./".
func cleanName(name string) (string, error) {
	n := strings.TrimPrefix(strings.ReplaceAll(name, "\\", "/"), "./")
	if n == "" || strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return "", fmt.Errorf("entry %q: absolute path: %w", name, ErrBadArtifact)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q: path climbs out of the archive: %w", name, ErrBadArtifact)
		}
	}
	return strings.TrimSuffix(n, "/"), nil
}

// checkLink rejects a link at name whose target leaves the archive root.
// Relative symlink targets resolve against the link's directory; hard
// link targets are archive member names.
func checkLink(name, target string, hard bool) error {
	if target == "" || strings.HasPrefix(target, "/") {
		return fmt.Errorf("entry %q: link to %q outside the archive: %w", name, target, ErrBadArtifact)
	}
	j := target
	if !hard {
		j = path.Join(path.Dir(name), target)
	}
	j = path.Clean(j)
	if j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("entry %q: link to %q outside the archive: %w", name, target, ErrBadArtifact)
	}
	return nil
}

// CheckTarGz reads the gzip-compressed tarball at p completely, checking
// gzip and tar framing (and the gzip checksum), member names, links,
// member types, and lim. Members for which want returns true are returned
// with their content.
func CheckTarGz(p string, lim Limits, want func(name string) bool) (Contents, error) {
	c := Contents{Files: map[string][]byte{}}
	names, err := walkTarGz(p, lim, func(h *tar.Header, name string, r io.Reader) error {
		if h.Typeflag != tar.TypeReg || want == nil || !want(name) {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, maxWanted+1))
		if err != nil {
			return readErr(err)
		}
		if len(b) > maxWanted {
			return fmt.Errorf("entry %q: metadata over %d bytes: %w", name, maxWanted, ErrTooLarge)
		}
		c.Files[name] = b
		return nil
	})
	if err != nil {
		return Contents{}, err
	}
	c.Names = names
	return c, nil
}

// DigestTarGz checks the tarball at p as CheckTarGz does and returns, for
// each member for which want returns true, "sha256:<hex>" of its content
// (any size) or, for a link, "link:<target>": links are never followed.
// A directory is left out.
func DigestTarGz(p string, lim Limits, want func(name string) bool) (map[string]string, error) {
	out := map[string]string{}
	_, err := walkTarGz(p, lim, func(h *tar.Header, name string, r io.Reader) error {
		if !want(name) {
			return nil
		}
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			out[name] = "link:" + h.Linkname
		case tar.TypeReg, tar.TypeGNUSparse:
			d := sha256.New()
			if _, err := io.Copy(d, r); err != nil {
				return readErr(err)
			}
			out[name] = "sha256:" + hex.EncodeToString(d.Sum(nil))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkTarGz reads the tarball at p completely, checking it against lim
// (see CheckTarGz), calls visit with each member that passed the checks,
// its clean name and a reader of its content, and returns the names.
func walkTarGz(p string, lim Limits, visit func(h *tar.Header, name string, r io.Reader) error) ([]string, error) {
	if err := checkSize(p, lim); err != nil {
		return nil, err
	}
	f, err := OpenRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %v: %w", err, ErrBadArtifact)
	}
	zr.Multistream(false)
	budget := lim.MaxBytes * ExpandFactor
	tr := tar.NewReader(&limitReader{r: zr, n: budget})
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readErr(err)
		}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeGNUSparse:
		default:
			return nil, fmt.Errorf("entry %q: type %q not allowed: %w", h.Name, h.Typeflag, ErrBadArtifact)
		}
		name, err := cleanName(h.Name)
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			if err := checkLink(name, h.Linkname, h.Typeflag == tar.TypeLink); err != nil {
				return nil, err
			}
		}
		if len(names) >= lim.MaxFiles {
			return nil, fmt.Errorf("more than %d entries: %w", lim.MaxFiles, ErrTooLarge)
		}
		names = append(names, name)
		if err := visit(h, name, tr); err != nil {
			return nil, err
		}
	}
	// Drain the rest so that the gzip checksum is verified.
	if _, err := io.Copy(io.Discard, &limitReader{r: zr, n: budget}); err != nil {
		return nil, readErr(err)
	}
	return names, nil
}

func readErr(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return fmt.Errorf("corrupt archive: %v: %w", err, ErrBadArtifact)
}

// limitReader fails with ErrTooLarge once more than n bytes were read.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("uncompressed size over the limit: %w", ErrTooLarge)
	}
	return n, err
}

// CheckZip checks the zip file at p like CheckTarGz (every member's
// checksum is verified by reading it).
func CheckZip(p string, lim Limits, want func(name string) bool) (Contents, error) {
	if err := checkSize(p, lim); err != nil {
		return Contents{}, err
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return Contents{}, fmt.Errorf("not zip: %v: %w", err, ErrBadArtifact)
	}
	defer zr.Close()
	if len(zr.File) > lim.MaxFiles {
		return Contents{}, fmt.Errorf("more than %d entries: %w", lim.MaxFiles, ErrTooLarge)
	}
	budget := lim.MaxBytes * ExpandFactor
	c := Contents{Files: map[string][]byte{}}
	for _, zf := range zr.File {
		name, err := cleanName(zf.Name)
		if err != nil {
			return Contents{}, err
		}
		mode := zf.Mode()
		if mode&^(fs.ModeDir|fs.ModeSymlink|fs.ModePerm) != 0 {
			return Contents{}, fmt.Errorf("entry %q: mode %v not allowed: %w", zf.Name, mode, ErrBadArtifact)
		}
		rc, err := zf.Open()
		if err != nil {
			return Contents{}, readErr(err)
		}
		b, err := io.ReadAll(&limitReader{r: rc, n: budget})
		rc.Close()
		if err != nil {
			return Contents{}, readErr(err)
		}
		budget -= int64(len(b))
		if mode&fs.ModeSymlink != 0 {
			if err := checkLink(name, string(b), false); err != nil {
				return Contents{}, err
			}
		}
		c.Names = append(c.Names, name)
		if mode.IsRegular() && want != nil && want(name) {
			if len(b) > maxWanted {
				return Contents{}, fmt.Errorf("entry %q: metadata over %d bytes: %w", name, maxWanted, ErrTooLarge)
			}
			c.Files[name] = bytes.Clone(b)
		}
	}
	return c, nil
}
