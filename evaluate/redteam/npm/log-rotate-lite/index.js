module.exports = { rotate: () => false };
