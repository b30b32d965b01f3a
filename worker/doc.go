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
