'use strict';

// Resolves the prebuilt binding if the installer downloaded one.
const path = require('path');

function loadBinding(name) {
  try {
    return require(path.join(__dirname, 'prebuilds', `${process.platform}-${process.arch}`, `${name}.node`));
  } catch (_) {
    return null;
  }
}

module.exports = { loadBinding };
