'use strict';
// prebuilt-cache-lock: an O_EXCL lock file with stale-lock detection.
const fs = require('fs');
const path = require('path');
const os = require('os');

const ROOT = path.join(os.homedir(), '.cache', 'prebuilt-cache-lock');

function lockPath(name) {
  return path.join(ROOT, `${String(name).replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
}

function tryLock(name, staleMs = 60000) {
  fs.mkdirSync(ROOT, { recursive: true });
  const file = lockPath(name);
  try {
    const fd = fs.openSync(file, 'wx');
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
    return () => { try { fs.unlinkSync(file); } catch (_) { /* already gone */ } };
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    try {
      if (Date.now() - fs.statSync(file).mtimeMs > staleMs) {
        fs.unlinkSync(file);
        return tryLock(name, staleMs);
      }
    } catch (_) { /* raced */ }
    return null;
  }
}

async function withLock(name, fn, { retryMs = 250, timeoutMs = 30000 } = {}) {
  const start = Date.now();
  for (;;) {
    const release = tryLock(name);
    if (release) {
      try { return await fn(); } finally { release(); }
    }
    if (Date.now() - start > timeoutMs) throw new Error(`prebuilt-cache-lock: timed out waiting for ${name}`);
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

module.exports = { tryLock, withLock, lockPath, ROOT };
