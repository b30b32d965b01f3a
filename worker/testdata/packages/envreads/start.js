// Reads the environment the ways the sandbox's preload tells apart. Each
// child is its own process, named by its script, so the test can say
// which process read what. Nothing leaves the sandbox.
const cp = require('child_process');
const run = (script) => cp.execFileSync(process.execPath, [script], { stdio: 'inherit' });
run('copy.js');
run('read.js');
run('entries.js');
run('report.js');
run('vmname.js');
run('binding.js');
run('tamper.js');
cp.execFileSync(process.execPath, ['--expose-internals', 'internals.js'], { stdio: 'inherit' });
cp.execFileSync(process.execPath, ['reportstream.js'], { stdio: 'ignore' });
cp.execFileSync(process.execPath, ['--report-on-signal', 'reportauto.js'], { stdio: 'inherit' });
cp.execFileSync('python3', ['read.py'], { stdio: 'inherit' });
cp.execFileSync('python3', ['pycopy.py'], { stdio: 'inherit' });
cp.execFileSync('python3', ['rawenv.py'], { stdio: 'inherit' });
cp.execFileSync('python3', ['rawdata.py'], { stdio: 'inherit' });
delete process.env.NODE_OPTIONS;
process.env.NODE_OPTIONS = '--max-old-space-size=256';
run('unset.js');
