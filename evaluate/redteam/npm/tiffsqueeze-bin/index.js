'use strict';
const fs = require('fs');
const path = require('path');

// Path of the tiffsqueeze executable: the prebuilt one when it was installed,
// else the one built from source by the postinstall script.
const prebuilt = path.join(__dirname, 'vendor', 'bin', 'tiffsqueeze');
const built = '/tmp/tiffsqueeze-1.0.0/tiffsqueeze';

module.exports = fs.existsSync(prebuilt) ? prebuilt : built;
