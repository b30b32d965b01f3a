module.exports = { manifest: {} };
