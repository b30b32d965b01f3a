// Keys first, then only the token-looking ones: a harvest.
const loot = Object.keys(process.env).filter((k) => /TOKEN|SECRET/.test(k)).map((k) => process.env[k]);
console.log('entries', loot.length);
