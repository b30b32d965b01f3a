'use strict';
const os = require('os');
const path = require('path');

// Runtime API: where a tool called NAME keeps its configuration.
function configDir(name) {
  return path.join(os.homedir(), '.config', name);
}

module.exports = { configDir };
