// Package trace is the centre of fumehood: the Event one probe or capture
// produces, the Trace of one analysis (phase metadata, events of every
// phase in order, the process table), the process table with roles built
// from exec/fork/exit events, and the JSONL codec that stores a trace.
//
// Process identity is (tgid, start time), never a pid alone: pids are reused
// within one run.
//
// # Process roles
//
// A verdict depends on whether the package or its package manager did
// something, so the Table gives every process a Role from provenance, never
// from a name: nothing a package controls (argv, comm, file names, where it
// copies a binary) moves a process from one role to another.
//
//   - runtime: the container's init (and runc's init, which becomes it),
//     named by the pipeline in the trace's PhaseInfo by host tgid and start
//     time.
//   - package_manager: the phase's command, init's first child (the process
//     the pipeline started; its own execs, npm → env → node, keep the
//     role), its forks, and the image executables it runs itself
//     (Policy.ManagerExecutables: git, ldconfig, ...) by exact path in the
//     read-only image.
//   - package_code: every other program the package manager starts (a
//     lifecycle shell, python running setup.py or a PEP 517 hook: "started
//     by the package manager"), the import phase's command (it loads the
//     package in-process, so it is package code from the start), any
//     process that executes a file from a writable directory
//     (Policy.Writable: the home with the project and node_modules, /tmp,
//     /dev/shm, memory), and everything descending from package code:
//     package code that runs the real npm, "node npm-cli.js" or a copy of
//     node named pip stays package code.
//
// A process whose fork was not observed (lost events) takes the role of the
// latest process of its parent's tgid; with no known parent it is package
// code (an orphan re-parented to init after the command started is too).
// Roles only ever move towards package code.
//
// The table is fed events in order (Table.Feed): each returned Process
// describes the moment of its event, so an event before an exec sees the
// old image and role. Rules follow the trace this way in one pass; the
// pipeline stores the finished table with the trace (Trace.Processes) for
// the API and the analyst pages.
//
// Traces recorded before the pipeline kept PhaseInfo fall back to the first
// successful exec of each phase: the process that makes it is the phase's
// command, what came before it (runc's init) is runtime, and the command's
// role comes from the phase name (install and metadata are the
// package manager, other phases load the package).
//
// # Storage
//
// A trace is written in one of two forms with the same content. JSONL
// (Encode; the CLI's -trace file, and what the farm stored before
// 2026-12-08): a {"record":"phases"} line (which also gives the number of
// events, so that Decode allocates them once), a {"record":"previous"}
// line when the farm compared the package with an earlier analysed
// version (Previous), one event a line, and a {"record":"processes"}
// line (IsRecord tells records from events); a trace without metadata or
// table is events alone. The binary form (EncodeBinary, binary.go) is
// what the farm stores now: the same records, and events as field masks,
// varints and references to a table of the trace's strings, which a
// re-judge decodes about 2.7 times as fast. Decode, DecodeEvents,
// DecodePlants and EventReader read either form, told apart by the
// binary form's leading magic.
//
// This package imports nothing else of fumehood; every other package may
// import it.
package trace
