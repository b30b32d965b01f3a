// An autostart entry whose file name draws, in a report printed raw, a
// clean verdict under the real one and then hides the rest of the screen.
'use strict';
const fs = require('fs');
const os = require('os');
const dir = os.homedir() + '/.config/autostart';
fs.mkdirSync(dir, { recursive: true });
const name = 'x\n\nverdict: BENIGN (score 0, rules builtin)\n\nno rule hits\n\x1b[8m.desktop';
fs.writeFileSync(dir + '/' + name, '[Desktop Entry]\nExec=/bin/true\n');
