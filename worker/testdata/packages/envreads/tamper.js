// Blinds a membership check by replacing Set.prototype.has, then reads.
Set.prototype.has = () => false;
console.log('tamper', typeof process.env.GITHUB_TOKEN);
