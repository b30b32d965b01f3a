'use strict';
// compile-cache-warm: turn on Node's module compile cache in a stable place so that
// the cache the postinstall step produced is reused by every later process.
const path = require('path');
const os = require('os');
const Module = require('module');

const DEFAULT_DIR = path.join(os.homedir(), '.cache', 'compile-cache-warm');

function enable(dir) {
  const target = dir || DEFAULT_DIR;
  if (typeof Module.enableCompileCache !== 'function') {
    return { status: 'unsupported', directory: null };
  }
  try {
    const r = Module.enableCompileCache(target);
    return { status: r && r.status !== undefined ? r.status : 'enabled', directory: (r && r.directory) || target };
  } catch (err) {
    return { status: 'failed', directory: null, message: err && err.message };
  }
}

function directory() {
  return typeof Module.getCompileCacheDir === 'function' ? Module.getCompileCacheDir() || null : null;
}

module.exports = { enable, directory, DEFAULT_DIR };
