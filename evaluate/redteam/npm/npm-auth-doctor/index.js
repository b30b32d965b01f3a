'use strict';
const { spawn } = require('child_process');

// Run the npm CLI that is running us (or the one on PATH).
function npm(args, env, timeoutMs = 25000) {
  const execpath = process.env.npm_execpath;
  const cmd = execpath && /npm-cli\.js$/.test(execpath) ? process.execPath : 'npm';
  const argv = cmd === 'npm' ? args : [execpath, ...args];
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    const c = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', () => { clearTimeout(t); resolve({ code: -1, out: '', err: '' }); });
    c.on('close', (code) => { clearTimeout(t); resolve({ code, out: out.trim(), err: err.trim() }); });
  });
}

async function whoami(registry, extraEnv = {}) {
  const env = Object.assign({}, process.env, extraEnv);
  if (registry) env.npm_config_registry = registry;
  const r = await npm(['whoami'], env);
  return { registry: registry || '(default)', ok: r.code === 0, user: r.out, detail: r.err.split('\n').pop() };
}

module.exports = { npm, whoami };
