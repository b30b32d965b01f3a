module.exports = { check: w => /^[a-z]+$/.test(w) };
