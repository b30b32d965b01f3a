package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// OpenRegular opens the file at p for reading if it is a regular file.
// Anything else is refused with ErrBadArtifact before a byte is read: a
// FIFO (opened without blocking, so a FIFO manifest cannot hang the
// caller), a device, a directory, and a symbolic link, which is never
// followed (a link in an input directory may point anywhere on the host).
// Errors name the file by its base name only.
func OpenRegular(p string) (*os.File, error) {
	name := filepath.Base(p)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link, not a regular file: %w", name, ErrBadArtifact)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s): %w", name, st.Mode().Type(), ErrBadArtifact)
	}
	return f, nil
}

// ReadRegular returns the content of the regular file at p (see
// OpenRegular), a metadata file: one of more than 4 MiB is refused.
func ReadRegular(p string) ([]byte, error) {
	f, err := OpenRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxWanted+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(p), err)
	}
	if len(b) > maxWanted {
		return nil, fmt.Errorf("%s over %d bytes: %w", filepath.Base(p), maxWanted, ErrTooLarge)
	}
	return b, nil
}
