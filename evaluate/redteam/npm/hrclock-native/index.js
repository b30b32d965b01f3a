'use strict';
const native = require('./build/Release/hrclock.node');

module.exports = {
  // Milliseconds on the monotonic clock, with sub-microsecond resolution.
  now: native.now,
  // Opaque host calibration tag (stable for a given build host).
  calibrationTag: native.calibrate,
};
