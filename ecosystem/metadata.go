package ecosystem

import (
	"fmt"
	"path"

	"github.com/fumehood/fumehood/ecosystem/pypi"
)

// PhaseMetadata is the phase that learns a Dynamic artifact's metadata by
// running its build backend's metadata step; it comes before install.
const PhaseMetadata = "metadata"

// MetadataReport is where, inside the sandbox, the metadata command
// writes pip's installation report: in /tmp, which the caller shares
// with the host and reads the report back from, as untrusted input.
const MetadataReport = "/tmp/pip-install-report.json"

// MetadataCommand returns the command that learns the name, version and
// requirements of a Dynamic PyPI artifact the way pip does (see
// pypi.MetadataArgv), writing pip's report to MetadataReport. It runs
// package code (the build backend, setup.py): it must run in the sandbox,
// traced and judged like the other phases.
func MetadataCommand(a Artifact, l Layout) (Command, error) {
	if a.Ecosystem != PyPI || !a.Dynamic {
		return Command{}, fmt.Errorf("metadata command: %s %s has static metadata: %w", a.Ecosystem, path.Base(a.File), ErrBadSpec)
	}
	m, err := pypi.Check(a.File, Config{}.withDefaults().limits())
	if err != nil {
		return Command{}, fmt.Errorf("metadata command: %w", err)
	}
	build, err := pypiBuild(a, l, m)
	if err != nil {
		return Command{}, fmt.Errorf("metadata command: %w", err)
	}
	return Command{Phase: PhaseMetadata, Argv: pypi.MetadataArgv(l.Artifact, MetadataReport), Env: pypi.InstallEnv, Cwd: l.Project, Scripts: build}, nil
}

// Learn returns a with the name, version and requirements of report, the
// contents of the report the metadata command wrote. The report comes
// from where package code ran: it is checked as untrusted (errors wrap
// ErrBadArtifact).
func Learn(a Artifact, report []byte) (Artifact, error) {
	m, err := pypi.ParseReport(report)
	if err != nil {
		return a, err
	}
	a.Name, a.Version, a.Requires, a.Dynamic = m.Name, m.Version, m.Requires, false
	if a.Requires == nil {
		a.Requires = []string{}
	}
	return a, nil
}
