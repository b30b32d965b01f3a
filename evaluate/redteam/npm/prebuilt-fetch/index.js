module.exports = { binary: null };
