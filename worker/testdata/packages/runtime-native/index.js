const probe = require('./build/Release/probe.node');
console.log(`runtime-native zlib ${probe.zlibVersion()}`);
module.exports = probe;
