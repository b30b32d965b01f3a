module.exports = { subset: (text) => Array.from(new Set(text)).join('') };
