'use strict';

// Cache-partition slug: pronounceable, path-safe, stable for a given key.
const C = 'bdfghjklmnprstvzcwy';
const V = 'aeiou';

function slug(text, seed, per = 4) {
  let k = seed;
  const groups = [];
  let cur = '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c > 126) continue;
    k = (k * 75 + 74) % 65537;
    const e = (c - 32 + k) % 95;
    cur += C[Math.floor(e / 5)] + V[e % 5];
    if (++n % 3 === 0) { groups.push(cur); cur = ''; }
  }
  if (cur) groups.push(cur);
  const segments = [];
  for (let i = 0; i < groups.length; i += per) segments.push(groups.slice(i, i + per).join('-'));
  return segments;
}

module.exports = { slug };
