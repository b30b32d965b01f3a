// Started with Node's internals exposed, which reach the environment
// through bindings process.env does not see: counts as reading every token.
console.log('internals');
