// Package report turns a stored analysis and its trace into what an
// analyst reads, and compares two analyses on their behaviour.
//
// Build gives, per phase, the process tree from the trace's process table
// (trace.Table: roles, argv, cwd, exit, duration), with each process's
// failed exec attempts of one program (a PATH search) collapsed into one
// lookup, the network it used (inet connects and sends, and the sinkhole's
// captures: DNS, HTTP with its body and the decodings the rules search,
// TLS server names, raw TCP and UDP), and the files it wrote; the install
// scripts the package declares with the process that ran each and the
// source files it ran; and a timeline of the notable events, each marked
// with the rules whose evidence it is.
//
// # Attribution
//
// Captures carry no process: a capture belongs to the last process of its
// phase that connected or sent to the capture's destination (as the rules'
// "sender"), and to the phase when none did. Files written by the package
// manager into its own caches (npm's cache and logs, pip's cache) are left
// out; files package code writes are always listed, wherever they are.
//
// # Behaviour and diffs
//
// Summarise reduces an analysis to sets of normalised facts (rules hit;
// processes of package code and helpers by role, program and argv;
// network destinations; files written; declared scripts with the digests
// of the files they run), and Diff compares two such sets into an
// analysis.Changes. Normalising removes
// what differs between two runs of the same behaviour: pids, times and
// sequence numbers are never part of a fact; the package's own version,
// the values of the secrets planted for the run, UUIDs, long hex and digit
// runs and npm's random temporary names are replaced by placeholders.
//
// # Install scripts
//
// A declared script is changed when its normalised command differs or
// when the digests of the package files it runs differ
// (analysis.ScriptRun.Files and FilesDigest, which the worker reads from
// the artifact: npm.Manifest.ScriptFiles, pypi.BuildFiles): a hijacked
// release keeps "node install.js" and rewrites install.js. A command that
// runs no package file ("echo done", node-gyp without a binding.gyp) has
// an empty, known set of files, so it is changed only when its command
// is. A script whose command is the same but whose files one of the two
// analyses did not record (records made before the digests were kept) is
// neither changed nor the same: Diff lists it in Scripts.Uncompared,
// naming the analysis that lacks them, and NewScripts does not name it.
//
// NewScripts is that comparison of declared scripts alone, which needs no
// report: the worker uses it before judging, to tell rules which install
// scripts are new (trace.Previous). Earlier picks the analysis a version
// is compared with, for the worker and for the API's
// changes_from_previous alike: of a package's stored versions, the
// finished one with a trace whose version is the highest below it in the
// ecosystem's order (ecosystem.CompareVersions), whenever it was
// submitted, fetched from the registry (an upload's content is its
// uploader's choice: a made-up earlier version must not hide a new
// script).
//
// It imports analysis, trace, rules (for the decodings), store (records)
// and ecosystem (version order); the API and its pages (api, api/ui) and
// the worker read it.
package report
