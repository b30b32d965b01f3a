'use strict';
// Minimal TLS ClientHello writer, used to see how a server answers a given
// offer without completing a handshake.

function u16(n) { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function ext(type, data) { return Buffer.concat([u16(type), u16(data.length), data]); }

const SUITES = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function clientHello({ sni, random, sessionId, keyShare }) {
  const name = Buffer.from(sni);
  const exts = Buffer.concat([
    ext(0, Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name])),
    ext(23, Buffer.alloc(0)),
    ext(0xff01, Buffer.from([0])),
    ext(10, Buffer.concat([u16(6), u16(0x001d), u16(0x0017), u16(0x0018)])),
    ext(11, Buffer.from([1, 0])),
    ext(35, Buffer.alloc(0)),
    ext(16, (() => { const l = Buffer.concat([Buffer.from([2]), Buffer.from('h2'), Buffer.from([8]), Buffer.from('http/1.1')]); return Buffer.concat([u16(l.length), l]); })()),
    ext(13, Buffer.concat([u16(SIGALGS.length * 2), ...SIGALGS.map(u16)])),
    ext(51, Buffer.concat([u16(36), u16(0x001d), u16(32), keyShare])),
    ext(45, Buffer.from([1, 1])),
    ext(43, Buffer.from([4, 0x03, 0x04, 0x03, 0x03])),
  ]);
  const body = Buffer.concat([
    u16(0x0303), random, Buffer.from([sessionId.length]), sessionId,
    u16(SUITES.length * 2), ...SUITES.map(u16),
    Buffer.from([1, 0]), u16(exts.length), exts,
  ]);
  const hs = Buffer.concat([Buffer.from([1, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function parseServerHello(buf) {
  if (buf.length < 11 || buf[0] !== 0x16 || buf[5] !== 2) return null;
  const version = buf.readUInt16BE(9);
  const sidLen = buf[43];
  const suite = buf.length >= 46 + sidLen ? buf.readUInt16BE(44 + sidLen) : 0;
  return { version, suite };
}

module.exports = { clientHello, parseServerHello, SUITES };
