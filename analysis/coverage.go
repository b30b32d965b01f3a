package analysis

import "fmt"

// CoverageLevel summarises how much of a package's own code ran.
type CoverageLevel string

// Coverage levels.
const (
	// CoverageFull: every declared install script ran and every entry
	// point imported.
	CoverageFull CoverageLevel = "full"
	// CoveragePartial: some of the package's code ran, not all of it.
	CoveragePartial CoverageLevel = "partial"
	// CoverageNone: none of the package's code ran (an install refused
	// for platform or engines, or that failed before its scripts, and
	// imports that failed), or it declares nothing that runs.
	CoverageNone CoverageLevel = "none"
)

// Coverage is what of the package's own code the phases exercised, so
// that a benign verdict on a package whose code never ran does not read
// as a clean bill of health.
type Coverage struct {
	Level CoverageLevel `json:"level"`
	// InstallOK: the install phase exited 0 in time.
	InstallOK bool `json:"install_ok"`
	// Scripts are the install-time scripts the package declares (npm
	// lifecycle scripts; a PyPI sdist's build), per phase that should
	// run them.
	Scripts []ScriptRun `json:"scripts,omitempty"`
	// Imports are the entry points the import phase loads, each in a
	// fresh process.
	Imports []ImportRun `json:"imports,omitempty"`
	// Reason says, when Level is not full, the first thing that did not
	// run; it may quote a line of the phase's output.
	Reason string `json:"reason,omitempty"`
}

// ScriptRun is one declared install-time script and whether the package
// manager ran it.
type ScriptRun struct {
	Phase   string `json:"phase"`
	Name    string `json:"name"`    // npm: preinstall, install, postinstall; pypi: build
	Command string `json:"command"` // the script text, or the build backend
	Ran     bool   `json:"ran"`
	// ExitCode and Signal are how its process ended (when it ran and its
	// end was observed).
	ExitCode int `json:"exit_code,omitempty"`
	Signal   int `json:"signal,omitempty"`
}

// ImportRun is one entry point of the import phase.
type ImportRun struct {
	Entry string `json:"entry"` // npm: require, import; pypi: the module
	// Ran: its process was started; OK: it exited 0.
	Ran      bool `json:"ran"`
	OK       bool `json:"ok"`
	ExitCode int  `json:"exit_code,omitempty"`
	Signal   int  `json:"signal,omitempty"`
}

// ExitStatus renders how a process ended: "signal N" when a signal
// killed it, else "exit N".
func ExitStatus(code, signal int) string {
	if signal != 0 {
		return fmt.Sprintf("signal %d", signal)
	}
	return fmt.Sprintf("exit %d", code)
}
