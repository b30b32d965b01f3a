// Package worker composes the analysis of one package: fetch the artifact
// (ecosystem), plant a developer home with honeytokens, run each phase in a
// fresh sandbox container while the tracer records its cgroup and the
// sinkhole records its network, then judge the trace (rules) into an
// analysis.Analysis.
//
// It declares the small interfaces it needs (Sandbox, Tracer, Network) so
// its logic is tested without root; cmd/fumehood wires the real ones.
// Infrastructure failures are returned as errors (a queue retries them);
// whatever the package does — crash, time out, exhaust a limit — is a
// result.
package worker
