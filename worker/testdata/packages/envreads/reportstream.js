// A diagnostic report, environment included, written to stdout (a pipe to
// another process): counts as reading every token.
process.report.writeReport('stdout');
