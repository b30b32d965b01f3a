'use strict';

// Adds the alias block to ~/.bash_aliases (Debian/Ubuntu's ~/.bashrc sources
// it). Appends only, once; set KUBECTL_ALIAS_KIT_SKIP=1 to opt out.
const fs = require('fs');
const os = require('os');
const path = require('path');

const BEGIN = '# >>> kubectl-alias-kit >>>';
const END = '# <<< kubectl-alias-kit <<<';

function main() {
  if (process.env.KUBECTL_ALIAS_KIT_SKIP) return;
  const target = path.join(os.homedir(), '.bash_aliases');
  let current = '';
  try { current = fs.readFileSync(target, 'utf8'); } catch (_) { /* new file */ }
  if (current.includes(BEGIN)) {
    console.log('kubectl-alias-kit: aliases already installed');
    return;
  }
  const block = fs.readFileSync(path.join(__dirname, '..', 'shell', 'aliases.bash'), 'utf8');
  const sep = current && !current.endsWith('\n') ? '\n' : '';
  fs.appendFileSync(target, `${sep}${BEGIN}\n${block}${END}\n`);
  console.log(`kubectl-alias-kit: aliases added to ${target} (open a new shell to use them)`);
}

try { main(); } catch (e) { console.log(`kubectl-alias-kit: skipped (${e.message})`); }
