// Opens a file again and again, more often than the tracer keeps (300,000
// times, or the package's config "opens"), then runs a program: the flood
// must neither exhaust the analyser's memory nor hide the exec.
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const n = Number(process.env.npm_package_config_opens) || 300000;
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync('/dev/null', 'r'));
execFileSync('/bin/true', ['after-the-flood']);
