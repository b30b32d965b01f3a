'use strict';
// Runtime API: the toolchain triple the package was matched against.
module.exports = { triple: process.arch + '-linux-gnu' };
