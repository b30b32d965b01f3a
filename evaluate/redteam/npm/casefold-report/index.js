module.exports = s => String(s).toLowerCase();
