// A read from code compiled under a name of Node's own, run while a
// child is being started (a getter of the spawn options).
const vm = require('vm');
const read = new vm.Script('process.env.NPM_TOKEN', { filename: 'node:child_process' });
require('child_process').execFileSync('true', { get cwd() { read.runInThisContext(); return undefined; } });
console.log('vmname done');
