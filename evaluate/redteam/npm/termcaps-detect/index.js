'use strict';
// Runtime API: the capabilities of the terminal the process writes to.
function capabilities(stream) {
  const s = stream || process.stdout;
  const depth = s && typeof s.getColorDepth === 'function' ? s.getColorDepth() : 1;
  return { tty: !!(s && s.isTTY), colors: 2 ** depth, unicode: true };
}

module.exports = { capabilities };
