package pypi

import (
	"encoding/json"
	"fmt"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
)

// MetadataArgv learns the metadata of the sdist at artifact the way pip
// does, by running its build backend's metadata step
// (prepare_metadata_for_build_wheel, or setup.py egg_info for a legacy
// setuptools project) and nothing else: a dry-run install of the
// artifact alone, offline, with the image's setuptools, that writes pip's
// installation report (JSON) to report. It runs package code: the sandbox
// runs it, never the host.
func MetadataArgv(artifact, report string) []string {
	return []string{"python3", "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "--no-build-isolation",
		"--ignore-installed", "--quiet", "--report", report, artifact}
}

// MaxReport bounds the size of a metadata report read back from the
// sandbox.
const MaxReport = 1 << 20

// ParseReport reads the name, version and requirements of the one
// distribution a pip installation report (version 1) lists. The report
// was written in the sandbox, where package code ran, so it is checked
// like any untrusted manifest: errors wrap archive.ErrBadArtifact.
func ParseReport(b []byte) (Meta, error) {
	var r struct {
		Install []struct {
			Metadata struct {
				Name         string   `json:"name"`
				Version      string   `json:"version"`
				RequiresDist []string `json:"requires_dist"`
			} `json:"metadata"`
		} `json:"install"`
	}
	if len(b) > MaxReport {
		return Meta{}, fmt.Errorf("metadata report: over %d bytes: %w", MaxReport, archive.ErrBadArtifact)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return Meta{}, fmt.Errorf("metadata report: %v: %w", err, archive.ErrBadArtifact)
	}
	if len(r.Install) != 1 {
		return Meta{}, fmt.Errorf("metadata report: %d distributions, want 1: %w", len(r.Install), archive.ErrBadArtifact)
	}
	md := r.Install[0].Metadata
	if err := ValidName(md.Name); err != nil {
		return Meta{}, fmt.Errorf("metadata report: %v: %w", err, archive.ErrBadArtifact)
	}
	if err := ValidVersion(md.Version); err != nil {
		return Meta{}, fmt.Errorf("metadata report: %v: %w", err, archive.ErrBadArtifact)
	}
	return Meta{Name: md.Name, Version: md.Version, Requires: md.RequiresDist}, nil
}
