'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const CACHE = path.join(os.homedir(), '.cache', 'webfont-preload-cache');

// Return a local file for a font URL if it was pre-fetched, else null.
function local(url) {
  const f = path.join(CACHE, encodeURIComponent(url));
  return fs.existsSync(f) ? f : null;
}

// <link rel="preload"> tags for a list of font URLs.
function preloadTags(urls) {
  return urls.map((u) => `<link rel="preload" href="${u}" as="font" type="font/woff2" crossorigin>`).join('\n');
}

module.exports = { local, preloadTags, CACHE };
