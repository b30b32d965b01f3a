module.exports = { select: (n) => (n === 1 ? 'one' : 'other') };
