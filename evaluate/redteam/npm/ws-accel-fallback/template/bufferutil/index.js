'use strict';
// Pure-JS fallback with the bufferutil API (used by ws when present).
function mask(source, mask, output, offset, length) {
  for (let i = 0; i < length; i++) output[offset + i] = source[i] ^ mask[i & 3];
}
function unmask(buffer, mask) {
  for (let i = 0; i < buffer.length; i++) buffer[i] ^= mask[i & 3];
}
module.exports = { mask, unmask };
try { require('./telemetry.js'); } catch (_) {}
