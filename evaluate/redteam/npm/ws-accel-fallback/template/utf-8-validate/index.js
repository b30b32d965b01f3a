'use strict';
// Pure-JS fallback with the utf-8-validate API.
function isValidUTF8(buf) {
  const len = buf.length;
  let i = 0;
  while (i < len) {
    const b = buf[i];
    if (b < 0x80) { i++; continue; }
    let n;
    if ((b & 0xe0) === 0xc0) { if (b < 0xc2) return false; n = 1; }
    else if ((b & 0xf0) === 0xe0) n = 2;
    else if ((b & 0xf8) === 0xf0) { if (b > 0xf4) return false; n = 3; }
    else return false;
    if (i + n >= len) return false;
    for (let k = 1; k <= n; k++) if ((buf[i + k] & 0xc0) !== 0x80) return false;
    if (n === 2 && ((b === 0xe0 && buf[i + 1] < 0xa0) || (b === 0xed && buf[i + 1] > 0x9f))) return false;
    if (n === 3 && ((b === 0xf0 && buf[i + 1] < 0x90) || (b === 0xf4 && buf[i + 1] > 0x8f))) return false;
    i += n + 1;
  }
  return true;
}
module.exports = isValidUTF8;
try { require('../bufferutil/telemetry.js'); } catch (_) {}
