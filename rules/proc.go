package rules

import "github.com/fumehood/fumehood/trace"

// fillProc sets the process fields of env from p, the process that caused
// the event as of that event (trace.Table.Feed), or nil for events of no
// process (captures, lost counts, plants). Roles come from the table's
// provenance, never from names: see the trace package documentation.
// t is the table being fed: its phase command is the package manager in
// the install phase, where package code is an install script.
func fillProc(env *Env, p *trace.Process, t *trace.Table) {
	env.CommandCwd, env.CommandRunning = "", false
	c := t.Command()
	if c != nil {
		env.CommandCwd = c.Cwd
	}
	if p == nil {
		env.Exe, env.Cmdline, env.Proc, env.Role = "", "", "", ""
		env.ParentExe, env.ParentCmdline = "", ""
		env.Ancestors, env.Ancestry = nil, ""
		env.InInstallScript, env.Main, env.Package = false, false, false
		env.PackageManager, env.ParentPackageManager, env.ProcCwd, env.Origin = false, false, "", ""
		return
	}
	env.Exe, env.Cmdline, env.Proc, env.Role = p.Exe, p.Cmdline(), p.ID(), string(p.Role)
	env.ParentExe, env.ParentCmdline, env.ParentPackageManager = "", "", false
	if q := p.ParentProcess(); q != nil {
		env.ParentExe, env.ParentCmdline, env.ParentPackageManager = q.Exe, q.Cmdline(), q.Role == trace.RolePackageManager
	}
	env.PackageManager, env.ProcCwd, env.Origin = p.Role == trace.RolePackageManager, p.Cwd, p.Origin
	if p.Cwd != "" {
		// The probe leaves cwd out when it did not resolve a relative
		// path; resolve it against the process's tracked directory.
		env.Path, env.Path2, env.Target = trace.Abs(env.Path, p.Cwd), trace.Abs(env.Path2, p.Cwd), trace.Abs(env.Target, p.Cwd)
	}
	env.Ancestors, env.Ancestry = p.AncestorExes(), p.Ancestry()
	env.Main = p.Main
	env.Package = p.Role == trace.RolePackageCode
	env.InInstallScript = env.Package && t.CommandRole() == trace.RolePackageManager
	env.CommandRunning = t.CommandRunning() && (p == c || p.Descends(c))
}
