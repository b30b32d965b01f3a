// One token by name.
console.log('read', typeof process.env.GITHUB_TOKEN);
