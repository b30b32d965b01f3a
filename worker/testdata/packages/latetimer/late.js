// Act 20 s after the install, from a detached process that waits on a
// timer (not a sleep, which would be cut short): the watch of what the
// phase left must see it.
const { spawn } = require('child_process');
spawn(process.execPath, ['-e', "setTimeout(() => require('fs').readFileSync(require('os').homedir() + '/.ssh/id_rsa'), 20000)"], { detached: true, stdio: 'ignore' }).unref();
