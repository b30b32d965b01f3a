'use strict';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function encode(n) {
  let v = n < 0 ? ((-n) << 1) | 1 : n << 1;
  let s = '';
  do {
    let d = v & 31;
    v >>>= 5;
    if (v > 0) d |= 32;
    s += B64[d];
  } while (v > 0);
  return s;
}

// Turn a list of numbers into a "mappings" string: 4 fields a segment,
// 12 segments a line.
function mappings(values) {
  const lines = [];
  let seg = [];
  let line = [];
  for (const v of values) {
    seg.push(encode(v));
    if (seg.length === 4) { line.push(seg.join('')); seg = []; }
    if (line.length === 12) { lines.push(line.join(',')); line = []; }
  }
  if (seg.length) line.push(seg.join(''));
  if (line.length) lines.push(line.join(','));
  return lines.join(';');
}

function decode(str) {
  const out = [];
  let v = 0;
  let shift = 0;
  for (const ch of str) {
    if (ch === ',' || ch === ';') continue;
    const d = B64.indexOf(ch);
    v += (d & 31) << shift;
    if (d & 32) { shift += 5; continue; }
    out.push(v & 1 ? -(v >>> 1) : v >>> 1);
    v = 0; shift = 0;
  }
  return out;
}

module.exports = { encode, decode, mappings };
