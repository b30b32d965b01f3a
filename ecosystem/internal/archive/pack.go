package archive

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"
)

// Member is one file to pack: its name in the archive and either its host
// path or its content.
type Member struct {
	Name string
	Path string
	Data []byte
}

// packTime is the fixed modification time of packed members, as npm pack
// uses, so that packing the same tree twice gives the same digest.
var packTime = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// WriteTarGz writes members, in order, as a gzip-compressed tarball at
// out, with parent directories implied, mode 0644 and a fixed time.
// It fails with ErrTooLarge once the tarball would exceed lim.
func WriteTarGz(out string, members []Member, lim Limits) (retErr error) {
	if len(members) > lim.MaxFiles {
		return fmt.Errorf("%d files, limit %d: %w", len(members), lim.MaxFiles, ErrTooLarge)
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err := f.Close(); retErr == nil {
			retErr = err
		}
		if retErr != nil {
			os.Remove(out)
		}
	}()
	w := &limitWriter{w: f, n: lim.MaxBytes}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		if err := writeMember(tw, m); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeMember(tw *tar.Writer, m Member) error {
	h := &tar.Header{Name: m.Name, Mode: 0o644, ModTime: packTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if m.Path == "" {
		h.Size = int64(len(m.Data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(m.Data)
		return err
	}
	src, err := OpenRegular(m.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if st.Mode()&0o111 != 0 {
		h.Mode = 0o755
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, io.LimitReader(src, st.Size()))
	return err
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > l.n {
		return 0, fmt.Errorf("packed archive over %d bytes: %w", l.n, ErrTooLarge)
	}
	l.n -= int64(len(b))
	return l.w.Write(b)
}
