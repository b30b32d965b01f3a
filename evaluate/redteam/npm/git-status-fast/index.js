module.exports = { enabled: true };
