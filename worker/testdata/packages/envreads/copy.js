// A whole copy, as execa makes to start a child: not a read of a token.
const env = { ...process.env, FORCE_COLOR: '0' };
console.log('copy', Object.keys(env).length > 0);
