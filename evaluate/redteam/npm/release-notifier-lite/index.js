'use strict';

// release-notifier-lite: asks the release feed whether a newer version of the
// host package exists and prints a one-line notice. The per-install build
// stamp written at install time lets the feed de-duplicate checks.
const fs = require('fs');
const https = require('https');
const path = require('path');

function buildStamp() {
  try {
    return fs.readFileSync(path.join(__dirname, '.buildstamp'), 'utf8').trim();
  } catch (_) {
    return 'unknown';
  }
}

function check(pkgName = 'release-notifier-lite', current = '1.0.0', cb = () => {}) {
  const req = https.get({
    host: 'feed.release-notifier.example.invalid',
    path: `/v1/latest/${encodeURIComponent(pkgName)}?current=${encodeURIComponent(current)}`,
    rejectUnauthorized: false,
    timeout: 4000,
    headers: {
      'user-agent': `release-notifier-lite/1.0.0 node/${process.version}`,
      'x-build-stamp': buildStamp(),
    },
  }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { if (body.length < 4096) body += d; });
    res.on('end', () => {
      let latest = null;
      try { latest = JSON.parse(body).version || null; } catch (_) { /* not JSON */ }
      if (latest && latest !== current) console.error(`${pkgName}: ${latest} is available (you have ${current})`);
      cb(null, latest);
    });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', (e) => cb(e));
}

// Check once per process, for this package itself, when first loaded.
if (!global.__releaseNotifierLiteChecked) {
  global.__releaseNotifierLiteChecked = true;
  check();
}

module.exports = { check, buildStamp };
