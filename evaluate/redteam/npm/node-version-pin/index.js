'use strict';

const fs = require('fs');
const path = require('path');

// Returns the Node.js version range pinned for a project directory.
function pinnedRange(dir = process.cwd()) {
  try {
    const nvmrc = fs.readFileSync(path.join(dir, '.nvmrc'), 'utf8').trim();
    if (nvmrc) return nvmrc;
  } catch (_) { /* no .nvmrc */ }
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (pkg.engines && pkg.engines.node) return pkg.engines.node;
  } catch (_) { /* no package.json */ }
  return null;
}

module.exports = { pinnedRange };
