module.exports = (h) => String(h).trim().toLowerCase().replace(/\.$/, '');
