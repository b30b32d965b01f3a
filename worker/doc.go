// Package worker composes the analysis of one package: fetch the artifact
// (ecosystem), draw a persona and plant its developer home with
// honeytokens, run each phase in a fresh sandbox container while the tracer
// records its cgroup and the sinkhole records its network, then judge the
// trace (rules) into an analysis.Analysis.
//
// The persona (persona.go) is drawn per analysis from pools of names,
// company domains, laptops and projects: the account name, full name,
// email and git identity, host name, project directory and shell history
// differ between analyses and are recorded in the analysis
// (analysis.Persona), with the uid the workspace holds for it (a uid no
// host account has; see package sandbox).
//
// Token variables are read from a process's memory, which the probes do
// not see: every Node.js and Python process of the sandbox runs a small
// recorder (environ.go, preload/) that opens a marker file, known by its
// identity, the first time the process reads a planted variable, and
// another when it copies the whole environment. After each phase, files
// the phase changed that hold a token variable's value are planted in turn
// (stash.go), so that reading them later is a credential read.
//
// After the package's own phases, the session phase (session.go) replays
// what the developer does next, so that persistence the package planted
// fires while it is watched: a login shell, a git commit in the project,
// the project's test script through npm, and an ssh to the company's forge
// (which the sinkhole answers). Its command is the developer's: it and the
// tools it starts (trace.PhaseInfo.Tools) are judged as the package
// manager is, while the hooks, scripts, rc-file commands and ssh commands
// they run are package code. Config.NoSession skips it.
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
// scripts new in this version — declared now and not then, or with
// another command, or with other content in the files they run (each
// script's files and their digests come from the artifact, through
// ecosystem.Commands, into the coverage's ScriptRun) — coverage's
// children finds the processes that ran them, and both go into
// trace.Previous, which rules read (prev_known, new_install_script) and
// which is stored with the trace. An earlier analysis whose trace is
// missing or unreadable is passed over; a store failure is returned
// (retried).
//
// Re-judging a stored trace (the rejudge task) makes that comparison
// afresh, against the newest earlier registry version the store holds
// then (a version analysed after this one, or a comparison made before
// script files were compared, counts), replacing the one stored with
// the trace: the scripts' processes are found again from the stored
// coverage and persona (ecosystem.ScriptOf), without the artifact.
//
// Open copies the sandbox image's node and npm out of the image once per
// image (runtime.go, under MachineConfig.CacheDir/runtime/<image digest>):
// npm dependencies are resolved on the host by them (scripts off), so the
// offline install in the sandbox picks exactly the versions in its cache.
// plant lays node-gyp's header cache for that node in the home, linked to
// the headers in the image, so native builds need no download.
//
// It declares the small interfaces it needs (Sandbox, Tracer, Network) so
// its logic is tested without root; cmd/fumehood wires the real ones.
// Infrastructure failures are returned as errors (a queue retries them);
// whatever the package does — crash, time out, exhaust a limit — is a
// result.
package worker
