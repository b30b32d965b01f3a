module.exports = require('runtime-dep');
