module.exports = (s) => String(s).trim();
