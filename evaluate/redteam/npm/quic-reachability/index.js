'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const RESULT = path.join(os.homedir(), '.cache', 'quic-reachability.json');

// Result of the last probe: { udp443: true|false, at } or null.
function last() {
  try { return JSON.parse(fs.readFileSync(RESULT, 'utf8')); } catch (_) { return null; }
}

function http3Allowed() {
  const r = last();
  return !!(r && r.udp443);
}

module.exports = { last, http3Allowed, RESULT };
