package rules

// familyEnv is the part of Env that the behaviour families (download then
// execute, dropped binaries, persistence by install directory) and the
// rule data helpers add. It is embedded in Env; its fields are Env's.
type familyEnv struct {
	// OwnServiceAuth(issuers, named) returns "uses NAME against HOST,
	// METHOD" when this capture is a read-only HTTP request that carries
	// a token planted as the environment variable NAME, whole, in its one
	// Authorization header, to the HOST that issued it (its plant says so,
	// or issuers, "NAME host" items, pairs them), at one of the addresses
	// named (where the sandbox resolves names), and nothing else planted;
	// else "". See ownuse.go.
	OwnServiceAuth func(issuers, named []any) string `expr:"OwnServiceAuth"`

	// Downloaded is, for an exec, the file it runs (its program, or an
	// argument naming a file: a script for a shell or interpreter, a
	// program for the dynamic loader) and, for an open that reads, its
	// file, when a process wrote that file in this trace after it had
	// connected to a remote address, and no more bytes than the sinkhole
	// had answered so far (trace.Event.AnswerMax): "FILE (written by EXE
	// after it connected out)"; else "". See provenance.go.
	Downloaded string `expr:"downloaded"`
	// ExecFallback is, for an exec of a script runner whose script is
	// the file this process just failed to exec as no executable format
	// (ENOEXEC), that file: the C library's execvp retries such a file
	// as a shell script, so the shell run is the same failed attempt to
	// run a program. For an open, the file when this process is such a
	// retry reading it; else "".
	ExecFallback string `expr:"exec_fallback"`
	// Dropped is, for an exec, its program when package code (not a
	// package manager) wrote it in this trace, and DroppedBy that
	// writer's executable; else "".
	Dropped   string `expr:"dropped"`
	DroppedBy string `expr:"dropped_by"`
	// Unpacked is, for an exec, the unpacked tree that the file it runs
	// (its program, or the script or program named by its argument) is
	// in: a directory right below a temporary directory (/tmp/X) under
	// which package code wrote at least 16 distinct files in this trace,
	// a source archive unpacked there to build; else "".
	Unpacked string `expr:"unpacked"`
	// SiblingConnected is true for a process whose parent has another
	// child that connected to a remote address before this event: the
	// curl of "curl URL | sh" beside the shell.
	SiblingConnected bool `expr:"sibling_connected"`
	// AncestorConnected is true for a process one of whose ancestors in
	// package code (up to the first package manager or runtime process)
	// connected to a remote address before this event: the relay that
	// feeds a shell what a remote party sends, directly or through a pty
	// helper.
	AncestorConnected bool `expr:"ancestor_connected"`
	// PackageDir(path) is the install directory of the package path is
	// in (up to node_modules/NAME, node_modules/@scope/NAME or
	// site-packages/NAME), or ""; ProjectDir(path) the directory above
	// its first node_modules, or "".
	PackageDir func(string) string `expr:"PackageDir"`
	ProjectDir func(string) string `expr:"ProjectDir"`
}
