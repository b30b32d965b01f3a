// Package worker composes the analysis of one package: fetch the artifact
// (ecosystem), plant a developer home with honeytokens, run each phase in a
// fresh sandbox container while the tracer records its cgroup and the
// sinkhole records its network, then judge the trace (rules) into an
// analysis.Analysis.
//
// Each phase's container init (the host pid containerd reports, its start
// time from its first event) goes into the trace's phase metadata
// (trace.PhaseInfo) with the role of the command it runs: the package
// manager for install, package code for import. Init's events stay in the
// trace; the process table built while judging marks them runtime and is
// stored with the trace (trace.Trace.Processes).
//
// After the phases it measures coverage (coverage.go): which install
// scripts ecosystem.Commands declares the package manager ran — a direct
// child of the phase's command whose argv runs the script — and which
// import entry points exited 0, each in the process the import command
// started for it. Parents and exit statuses come from the kernel's exec
// and exit events, never from the package's output; children is the one
// function that reads them, to be switched to the trace's process table.
//
// Before judging, a pipeline with a Config.Earlier (the farm's is
// StoreEarlier, over its store and blobs) compares the package with the
// stored analysis of the registry artifact of its highest lower version
// (report.Earlier: SemVer for npm, PEP 440 for PyPI; not the last
// submitted, so a backport analysed later is not "previous"; never an
// upload): report.NewScripts names the install
// scripts new in this version, coverage's children finds the processes
// that ran them, and both go into trace.Previous, which rules read
// (prev_known, new_install_script) and which is stored with the trace. An
// earlier analysis whose trace is missing or unreadable is passed over;
// a store failure is returned (retried).
//
// It declares the small interfaces it needs (Sandbox, Tracer, Network) so
// its logic is tested without root; cmd/fumehood wires the real ones.
// Infrastructure failures are returned as errors (a queue retries them);
// whatever the package does — crash, time out, exhaust a limit — is a
// result.
package worker
