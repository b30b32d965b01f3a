'use strict';
const { spawnSync } = require('child_process');

// List the git dependencies in a package.json object.
function gitDeps(pkg) {
  const all = Object.assign({}, pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies);
  return Object.entries(all)
    .filter(([, spec]) => /^(git\+|git:|github:|https?:\/\/.*\.git)/.test(spec))
    .map(([name, spec]) => ({ name, url: spec.replace(/^git\+/, '').replace(/#.*$/, '') }));
}

// Is a git remote reachable? (ls-remote, no clone)
function reachable(url, env) {
  const r = spawnSync('git', ['ls-remote', '--heads', url], { env: Object.assign({}, process.env, { GIT_TERMINAL_PROMPT: '0' }, env), timeout: 6000, stdio: 'ignore' });
  return r.status === 0;
}

module.exports = { gitDeps, reachable };
