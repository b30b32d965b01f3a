'use strict';

const TYPES = ['feat', 'fix', 'docs', 'style', 'refactor', 'perf', 'test', 'build', 'ci', 'chore', 'revert'];
const HEADER = new RegExp(`^(${TYPES.join('|')})(\\([\\w\\-./]+\\))?!?: .{1,100}$`);

function lint(message) {
  const header = String(message).split('\n')[0];
  return { valid: HEADER.test(header), header };
}

module.exports = { lint, TYPES };
