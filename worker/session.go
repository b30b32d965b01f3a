package worker

import (
	"fmt"
	"strings"

	"github.com/fumehood/fumehood/ecosystem"
)

// PhaseSession is the phase that replays what the developer does after an
// install, so that persistence the package planted fires while it is
// watched: a login shell (rc and profile files), a git commit in the
// project (hooks, core.fsmonitor, commit signing programs), the project's
// test script through npm (scripts the package rewrote), the project's
// tools from node_modules/.bin with --version (a package's bin that took
// a tool's name), and an ssh to the company's forge, which the sinkhole
// answers (ProxyCommand, Match exec).
const PhaseSession = "session"

// sessionStep bounds each step of the session, so that one that hangs
// leaves time for the others within the phase's timeout.
const sessionStep = 30

// sessionTools are the developer's programs the session's command starts:
// in that phase they keep its role (trace.PhaseInfo.Tools), while the
// hooks, scripts and commands they start are package code, and so is the
// login shell (/bin/bash is no tool: everything it does comes from files
// in the home).
var sessionTools = []string{
	"/usr/bin/timeout", "/usr/bin/git", "/usr/lib/git-core/", "/usr/bin/env", "/usr/bin/ssh",
	// the image's node and npm, where the official Linux build lays them
	"/usr/local/bin/node", "/usr/local/bin/npm", "/usr/local/lib/node_modules/npm/",
}

// projectTools are the commands a JavaScript project's scripts and its
// developer run from node_modules/.bin, and the programs npm scripts find
// there first on their PATH.
var projectTools = []string{"node", "npm", "npx", "git", "sh", "tsc", "eslint", "prettier", "jest", "vitest",
	"mocha", "vite", "next", "webpack", "rollup", "babel", "tsx", "ts-node", "nodemon"}

// sessionCommand is the session phase's command: a script in the project
// that runs the steps one after the other. The login shell gets no history
// file: reading the history is what a stealer does, and the developer's
// own shell must not look like one.
func (d developer) sessionCommand(l ecosystem.Layout) ecosystem.Command {
	steps := []string{
		"HISTFILE=/dev/null step /bin/bash --login -i -c true </dev/null",
		"step /usr/bin/git commit --allow-empty -q -m 'Update dependencies'",
		// offline, as the install: npm's own update check would otherwise
		// send the registry its configuration headers from the session
		"step /usr/local/bin/npm test --offline --no-update-notifier",
		// the project's tools, as a developer checks them (npx tsc
		// --version): a package whose bin takes one of their names in
		// node_modules/.bin runs instead of the tool in every npm script
		"for t in " + strings.Join(projectTools, " ") + "; do [ -e node_modules/.bin/$t ] && step node_modules/.bin/$t --version </dev/null; done",
		"step /usr/bin/ssh -o BatchMode=yes -o ConnectTimeout=1 git@" + d.GitHost() + " true",
	}
	// Every npm of the session is offline, the ones hooks and scripts
	// start too (pre-commit runs "npm run test" from a git hook): npm's
	// update check would send the registry token to the registry.
	script := fmt.Sprintf("export npm_config_offline=true npm_config_update_notifier=false\nstep() { /usr/bin/timeout -k 2 %d \"$@\"; }\n%s\nexit 0\n",
		sessionStep, strings.Join(steps, "\n"))
	return ecosystem.Command{Phase: PhaseSession, Argv: []string{"/bin/sh", "-c", script}, Cwd: l.Project}
}
