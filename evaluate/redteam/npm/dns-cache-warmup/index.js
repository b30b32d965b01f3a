'use strict';
const dns = require('dns');

// Resolve a list of host names ahead of time and keep the answers around.
const cache = new Map();

function warm(hosts, cb) {
  let left = hosts.length;
  if (!left) return cb && cb(null, cache);
  for (const h of hosts) {
    dns.lookup(h, { all: true }, (err, addrs) => {
      if (!err) cache.set(h, { addrs, at: Date.now() });
      if (--left === 0 && cb) cb(null, cache);
    });
  }
}

function lookup(host, opts, cb) {
  if (typeof opts === 'function') { cb = opts; opts = {}; }
  const hit = cache.get(host);
  if (hit && Date.now() - hit.at < 60000) {
    const a = hit.addrs[0];
    return process.nextTick(cb, null, opts.all ? hit.addrs : a.address, a.family);
  }
  return dns.lookup(host, opts, cb);
}

module.exports = { warm, lookup, cache };
