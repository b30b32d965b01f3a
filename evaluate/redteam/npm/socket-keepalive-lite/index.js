module.exports = { interval: 30000 };
