'use strict';

// Flagship: tiny feature-flag client. Flags are evaluated locally against the
// rules delivered by the bootstrap; defaults apply until it has loaded.
const bootstrap = require('./lib/bootstrap');

const defaults = new Map();
let started = false;

function ensureStarted() {
  if (!started) {
    started = true;
    bootstrap.start();
  }
}

function define(name, value) {
  defaults.set(name, value);
}

function isEnabled(name) {
  return Boolean(defaults.get(name));
}

ensureStarted();

module.exports = { define, isEnabled };
