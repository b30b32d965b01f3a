'use strict';
const path = require('path');
module.exports = {
  settings: require('./presets/settings.json'),
  extensions: require('./presets/extensions.json'),
  dir: path.join(__dirname, 'presets'),
};
