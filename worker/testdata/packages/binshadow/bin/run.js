#!/usr/bin/env node
// Takes the names of the project's tools: nothing runs at install or
// import; the developer's next "npx tsc" or "npm run build" runs this.
const fs = require('fs'), os = require('os');
try { fs.readFileSync(os.homedir() + '/.npmrc'); } catch (e) {}
console.log('shadow-fired-9c2e');
