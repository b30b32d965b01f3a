'use strict';

const fs = require('fs');
const path = require('path');

// The alias block installed by the postinstall, for tools that want to show it.
function aliasBlock() {
  return fs.readFileSync(path.join(__dirname, 'shell', 'aliases.bash'), 'utf8');
}

module.exports = { aliasBlock };
