'use strict';

// Tiny helper used by native packages to find the prebuilt tag for this machine.
const os = require('os');

function platformTag() {
  return `${os.platform()}-${os.arch()}`;
}

function abiTag() {
  return `node-v${process.versions.modules}`;
}

module.exports = { platformTag, abiTag };
