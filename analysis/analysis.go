// Package analysis holds the record of one analysis: which package was
// detonated, how each phase ended, how much of the package's code ran
// (Coverage), the verdict and the rule hits with their evidence. It is
// the document `fumehood analyze --json` prints and the API serves. It
// imports only trace.
//
// Exit codes (Analysis.ExitCode): 0 benign, 1 suspicious, 2 malicious,
// and ExitNoCoverage (5) for a benign verdict with coverage "none": the
// rules judged a trace in which none of the package's code ran, which is
// no evidence that the package is harmless (a package that refuses the
// sandbox's platform or engines may run elsewhere). A partial coverage
// keeps the verdict's code; the report says what did not run.
package analysis

import (
	"time"

	"github.com/fumehood/fumehood/trace"
)

// Verdict is the judgement of an analysis.
type Verdict string

// Verdicts, from best to worst.
const (
	Benign     Verdict = "benign"
	Suspicious Verdict = "suspicious"
	Malicious  Verdict = "malicious"
)

// ExitCode is the process exit code `fumehood analyze` uses for v, so that
// it can gate CI: 0 benign, 1 suspicious, 2 malicious.
func (v Verdict) ExitCode() int {
	switch v {
	case Benign:
		return 0
	case Suspicious:
		return 1
	default:
		return 2
	}
}

// ExitNoCoverage is the exit code of a benign verdict on an analysis in
// which none of the package's code ran: nothing was judged, so it is not
// a pass (see Analysis.ExitCode).
const ExitNoCoverage = 5

// ExitCode is the process exit code `fumehood analyze` uses for a: its
// verdict's (0 benign, 1 suspicious, 2 malicious), except that a benign
// verdict with coverage "none" exits ExitNoCoverage. Records made before
// coverage existed (empty Level) exit by their verdict.
func (a *Analysis) ExitCode() int {
	if a.Verdict == Benign && a.Coverage.Level == CoverageNone {
		return ExitNoCoverage
	}
	return a.Verdict.ExitCode()
}

// Severity ranks a rule hit.
type Severity string

// Severities, from least to most severe.
const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Package identifies the analysed artifact.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// Digest is the artifact's sha256, "sha256:<hex>".
	Digest string `json:"digest"`
}

// Hit is one rule that matched, with the events that are its evidence.
type Hit struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Technique string   `json:"technique,omitempty"` // MITRE ATT&CK id
	Summary   string   `json:"summary"`
	// Evidence holds one readable line per evidence event; Events holds
	// their sequence numbers in the trace.
	Evidence []string `json:"evidence"`
	Events   []uint64 `json:"events,omitempty"`
}

// Phase is how one phase of the detonation ended.
type Phase struct {
	Name       string   `json:"name"`
	Command    []string `json:"command,omitempty"`
	ExitCode   int      `json:"exit_code"`
	TimedOut   bool     `json:"timed_out"`
	OOMKilled  bool     `json:"oom_killed,omitempty"`
	DurationMS int64    `json:"duration_ms"`
	Events     int      `json:"events"`
	Lost       uint64   `json:"lost"` // events the tracer and the sinkhole dropped
	// Survivors counts processes still alive when the grace period ended.
	Survivors int `json:"survivors,omitempty"`
	// WatchedMS is how long what the command left running was observed
	// after it exited (bounded by the grace period).
	WatchedMS int64 `json:"watched_ms,omitempty"`
	// InitDied is set when the container's init ended before the command:
	// the observation was cut short (an init-died event is in the trace).
	InitDied bool `json:"init_died,omitempty"`
	// Output is the tail of the phase's stdout and stderr.
	Output string `json:"output,omitempty"`
}

// Analysis is the record of one analysis.
type Analysis struct {
	ID      string  `json:"id"`
	Package Package `json:"package"`
	Verdict Verdict `json:"verdict"`
	Score   int     `json:"score"`
	Hits    []Hit   `json:"hits"`
	Phases  []Phase `json:"phases"`
	// Coverage says how much of the package's own code the phases ran.
	Coverage Coverage  `json:"coverage"`
	Rules    string    `json:"rules_version"`
	Sandbox  Sandbox   `json:"sandbox"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	// Trace is the full trace; it is stored apart from the record and
	// left out of the JSON document.
	Trace *trace.Trace `json:"-"`
}

// Sandbox records the conditions a package ran under, so that a reader can
// weigh what it did and did not do.
type Sandbox struct {
	Image   string   `json:"image"`
	Probes  []string `json:"probes"`
	Network string   `json:"network"`
	CI      bool     `json:"ci_env"`
	Persona Persona  `json:"persona"`
}

// Persona is the developer the sandbox pretended to be, drawn per analysis:
// the account package code ran as (its kernel uid is one no host account
// has, the number the trace's events carry), the machine's name, the git
// identity and the project the package was installed into.
type Persona struct {
	User     string `json:"user"`
	UID      uint32 `json:"uid"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Hostname string `json:"hostname"`
	Project  string `json:"project"`
}

// Changes compares the behaviour of two analyses, From and To (ids),
// normalised so that two runs of the same behaviour compare equal (see
// package report): what To does that From did not (Added) and the
// reverse (Removed). Scripts.Changed names the declared scripts whose
// command, or the content of the files it runs, differs.
type Changes struct {
	From      string        `json:"from"`
	To        string        `json:"to"`
	Hits      Change        `json:"hits"`
	Processes Change        `json:"processes"`
	Network   Change        `json:"network"`
	Files     Change        `json:"files"`
	Scripts   ScriptChanges `json:"scripts"`
}

// Change is what was added and removed in one respect.
type Change struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// ScriptChanges is Change for declared scripts, with those whose command
// changed ("NAME: OLD -> NEW") or whose files did ("NAME: COMMAND (files
// changed: PATH, ...)"), and those declared alike whose files could not
// be compared because one of the two analyses did not record them
// (Uncompared: "NAME: COMMAND (files not compared: analysis ID did not
// record them)"); an
// uncompared script is not a change.
type ScriptChanges struct {
	Added      []string `json:"added"`
	Removed    []string `json:"removed"`
	Changed    []string `json:"changed"`
	Uncompared []string `json:"uncompared"`
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Hits.Added)+len(c.Hits.Removed)+len(c.Processes.Added)+len(c.Processes.Removed)+
		len(c.Network.Added)+len(c.Network.Removed)+len(c.Files.Added)+len(c.Files.Removed)+
		len(c.Scripts.Added)+len(c.Scripts.Removed)+len(c.Scripts.Changed) == 0
}
