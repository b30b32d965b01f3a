// Reports the runtime the install runs on: node, npm (from npm's user
// agent) and python3.
const { execFileSync } = require('child_process');
const npm = (process.env.npm_config_user_agent || '').split(' ')[0];
const py = execFileSync('python3', ['-c', 'import platform; print(platform.python_version())']).toString().trim();
console.log(`runtime-report node=${process.version} npm=${npm} python=${py}`);
