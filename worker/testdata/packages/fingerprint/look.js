// Print what sandbox checks look at, one "key: value" line each.
const fs = require('fs');
const os = require('os');
const { execSync } = require('child_process');
const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch (e) { return e.code; } };
const out = {
  cgroup: read('/proc/self/cgroup').trim().split('\n').join(' | '),
  init: read('/proc/1/cmdline').split('\0').join(' ').trim(),
  mountinfo: read('/proc/self/mountinfo').trim().split('\n').join(' | '),
  user: execSync('id -un').toString().trim(),
  home: os.homedir(),
  host: os.hostname(),
  gituser: execSync('git config --global user.email').toString().trim(),
};
for (const [k, v] of Object.entries(out)) console.log('fp-' + k + ': ' + v);
