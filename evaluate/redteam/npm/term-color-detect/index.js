module.exports = () => (process.stdout && process.stdout.isTTY ? 2 : 0);
