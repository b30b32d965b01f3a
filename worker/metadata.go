package worker

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/pypi"
	"github.com/fumehood/fumehood/sandbox"
)

// learnMetadata reads the report the metadata phase of a Dynamic
// artifact left in workspace ws and returns art with the name,
// version and requirements its build backend reported, its offline cache
// prepared. When the phase left no valid report, that is the package's
// result, not an error: art is returned still Dynamic, and the analysis
// goes on to its verdict without the install and import phases.
func (p *Pipeline) learnMetadata(ctx context.Context, art ecosystem.Artifact, l ecosystem.Layout, ws *sandbox.Workspace) (ecosystem.Artifact, error) {
	report, err := readSandboxFile(ws.Tmp(), strings.TrimPrefix(ecosystem.MetadataReport, "/tmp/"), pypi.MaxReport)
	if err == nil {
		art, err = ecosystem.Learn(art, report)
	}
	if err != nil {
		p.log.WarnContext(ctx, "metadata phase gave no metadata: install and import skipped", "err", err)
		return art, nil
	}
	p.log.InfoContext(ctx, "metadata learned", "name", art.Name, "version", art.Version, "requires", art.Requires)
	return art, p.prepare(ctx, art, l, ws.Home(), ws.UID())
}

// readSandboxFile reads the regular file name under dir, a directory the
// sandbox could write, at most max bytes. Package code may have replaced
// it with a link out of dir (os.Root refuses to follow it), a fifo (opened
// non-blocking, then refused) or something huge.
func readSandboxFile(dir, name string, max int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox file %s: %w", name, err)
	}
	defer root.Close()
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox file %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sandbox file %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("sandbox file %s: not a regular file (%s)", name, st.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("sandbox file %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("sandbox file %s: over %d bytes", name, max)
	}
	return b, nil
}
