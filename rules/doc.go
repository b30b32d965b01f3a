// Package rules owns fumehood's behaviour rules: the YAML rule files (the
// builtin set is embedded from builtin/), their compiler (expressions are
// type-checked against Env with expr-lang/expr), the evaluator that judges a
// trace.Trace, the verdict function, and the per-rule trace fixtures that
// Set.Test runs.
//
// Rules are pure: judging reads only the trace it is given, keeps no global
// state and does no I/O, so a stored trace can be re-judged by a newer rule
// set at any time.
//
// rules imports trace and analysis only; it must not import sandbox, bpf,
// store or anything that touches the machine. See README.md for the rule
// language and the verdict function.
package rules
