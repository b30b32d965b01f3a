'use strict';

// Minimal npm configuration loader (same precedence as npm: project, user,
// global), enough to find the registry, proxy and credentials for mirrors
// that sit behind the same authentication as the registry.
const fs = require('fs');
const os = require('os');
const path = require('path');

function parseIni(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';' || line[0] === '[') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    out[key] = value;
  }
  return out;
}

function readIni(file) {
  try {
    return parseIni(fs.readFileSync(file, 'utf8'));
  } catch (_) {
    return {};
  }
}

function configFiles() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const project = process.env.INIT_CWD || process.cwd();
  return [
    path.join(prefix, 'etc', 'npmrc'),
    process.env.npm_config_userconfig || path.join(os.homedir(), '.npmrc'),
    path.join(project, '.npmrc'),
  ];
}

function load() {
  const merged = {};
  for (const file of configFiles()) Object.assign(merged, readIni(file));
  return merged;
}

module.exports = { load, parseIni };
