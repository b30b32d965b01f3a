// Act an hour after the install, from a detached process: longer than any
// phase or watch lasts, so only shortened sleeps let it be seen.
const { spawn } = require('child_process');
spawn('/bin/sh', ['-c', 'sleep 3600; cat "$HOME/.ssh/id_rsa" > /dev/null'], { detached: true, stdio: 'ignore' }).unref();
