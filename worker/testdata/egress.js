// Tries every way out: TCP and UDP to an off-machine address and to the
// host's own addresses, and an ICMP echo. Each must end at the sinkhole.
'use strict';
const net = require('net');
const dgram = require('dgram');
const { spawnSync } = require('child_process');
const marker = 'egress-marker-7f3c9a';
const targets = 'TARGETS'.split(',');
let pending = targets.length;
for (const host of targets) {
  const s = net.connect({ host, port: 8443, timeout: 1500 }, () => s.end(marker));
  s.on('error', () => {});
  s.on('timeout', () => s.destroy());
  s.on('close', () => { pending--; });
  const u = dgram.createSocket('udp4');
  u.send(Buffer.from(marker), 9999, host, () => u.close());
  spawnSync('ping', ['-c', '1', '-W', '1', host]);
}
const t = setInterval(() => { if (pending === 0) clearInterval(t); }, 100);
