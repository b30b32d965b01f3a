// Report success on init's status channel, then fail: the install must be
// reported as failed.
const fs = require('fs');
for (const fd of ['/proc/1/fd/2', '/proc/1/fd/1']) {
  try { fs.writeFileSync(fd, '0\n'); } catch (e) { console.log('forge ' + fd + ': ' + e.code); }
}
process.exit(3);
