// Act 20 s after the install, from a detached process.
const { spawn } = require('child_process');
spawn('/bin/sh', ['-c', 'sleep 20; cat "$HOME/.ssh/id_rsa" > /dev/null'], { detached: true, stdio: 'ignore' }).unref();
