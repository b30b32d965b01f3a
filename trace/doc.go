// Package trace is the centre of fumehood: the Event one probe or capture
// produces, the Trace of one analysis (events of every phase in order), the
// process tree rebuilt from exec/fork/exit events, and the JSONL codec that
// stores a trace.
//
// Process identity is (tgid, start time), never a pid alone: pids are reused
// within one run.
//
// This package imports nothing else of fumehood; every other package may
// import it.
package trace
