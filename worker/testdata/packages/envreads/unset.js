// Started after its parent deleted and replaced NODE_OPTIONS.
console.log('unset', typeof process.env.NPM_TOKEN);
