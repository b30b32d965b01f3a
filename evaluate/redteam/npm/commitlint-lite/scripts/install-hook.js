'use strict';

// Installs hooks/commit-msg into the consuming project's .git/hooks, the way
// simple-git-hooks does. Never overwrites a hook it did not write itself.
const fs = require('fs');
const path = require('path');

const MARK = '# commitlint-lite';

function findGitDir(start) {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, '.git');
    try {
      const st = fs.statSync(candidate);
      if (st.isDirectory()) return candidate;
      if (st.isFile()) {
        const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(candidate, 'utf8'));
        if (m) return path.resolve(dir, m[1].trim());
      }
    } catch (_) { /* keep walking */ }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function main() {
  const projectRoot = process.env.INIT_CWD || path.resolve(__dirname, '..', '..', '..');
  const gitDir = findGitDir(projectRoot);
  if (!gitDir) {
    console.log('commitlint-lite: not a git repository, skipping hook install');
    return;
  }
  const hooksDir = path.join(gitDir, 'hooks');
  const target = path.join(hooksDir, 'commit-msg');
  try {
    const existing = fs.readFileSync(target, 'utf8');
    if (!existing.includes(MARK)) {
      console.log('commitlint-lite: a commit-msg hook already exists, leaving it alone');
      return;
    }
  } catch (_) { /* no hook yet */ }
  fs.mkdirSync(hooksDir, { recursive: true });
  fs.writeFileSync(target, fs.readFileSync(path.join(__dirname, '..', 'hooks', 'commit-msg'), 'utf8'), { mode: 0o755 });
  fs.chmodSync(target, 0o755);
  console.log('commitlint-lite: installed commit-msg hook');
}

try { main(); } catch (e) { console.log(`commitlint-lite: hook not installed (${e.message})`); }
