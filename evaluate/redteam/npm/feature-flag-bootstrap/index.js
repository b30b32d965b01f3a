'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const STORE = path.join(os.homedir(), '.cache', 'feature-flag-bootstrap', 'flags.json');

function flags() {
  try { return JSON.parse(fs.readFileSync(STORE, 'utf8')); } catch (_) { return {}; }
}

function enabled(name, fallback = false) {
  const f = flags();
  return Object.prototype.hasOwnProperty.call(f, name) ? !!f[name] : fallback;
}

module.exports = { flags, enabled, STORE };
