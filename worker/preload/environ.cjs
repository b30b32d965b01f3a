'use strict';
// Preloaded into every Node.js process of the sandbox (NODE_OPTIONS
// --require; see worker/environ.go). The first time a process reads a
// planted token variable, it opens that variable's marker file in vars/
// beside this file, and the probes' record of the open (the
// file's identity) names the variable. Values, enumeration, assignment and
// deletion behave as before.
//
// Copies are not reads of a token:
//   - Node's own child_process and worker code copies the environment for
//     every process or thread it starts (a Node child has this preload);
//   - a complete copy in one go ({...process.env}, Object.assign,
//     JSON.stringify, Object.entries): every value in order. It opens
//     the copy's marker (copy, beside this file) instead, once per
//     process.
// A read that breaks off a copy, or a copy still unfinished when the turn
// ends, counts as reads of the token variables it took.
(() => {
  let fs, path, dir, names;
  try {
    fs = require('fs');
    path = require('path');
    dir = path.join(__dirname, 'vars');
    names = new Set(fs.readdirSync(dir));
  } catch {
    return;
  }
  if (names.size === 0) return;
  const openSync = fs.openSync, closeSync = fs.closeSync;
  const E = Error, captureStackTrace = E.captureStackTrace;
  // Set membership through the functions as they are now: package code
  // that replaces Set.prototype.has later cannot blind the recorder.
  const R = Reflect, apply = R.apply, setHas = Set.prototype.has, setAdd = Set.prototype.add;
  const has = (set, k) => apply(setHas, set, [k]);
  const add = (set, k) => apply(setAdd, set, [k]);
  const planted = (k) => typeof k === 'string' && has(names, k);
  const frames = (_, f) => f;
  const done = new Set();
  let copied = false;

  const mark = (file) => {
    try { closeSync(openSync(file, 'r')); } catch {}
  };
  const record = (name) => {
    if (has(done, name)) return;
    add(done, name);
    mark(dir + '/' + name);
  };

  // internal is true when the caller of trap is Node's own code handing
  // the environment to a new process or thread, inside a call that
  // starts one (spawning). Code compiled under a name of Node's own
  // (vm, Module#_compile) is renamed below, so it cannot pass for it.
  let spawning = 0;
  const internal = (trap) => {
    if (spawning === 0) return false;
    const prepare = E.prepareStackTrace, limit = E.stackTraceLimit;
    const holder = {};
    try {
      E.prepareStackTrace = frames;
      E.stackTraceLimit = 1;
      if (E.prepareStackTrace !== frames || E.stackTraceLimit !== 1) return false;
      captureStackTrace(holder, trap);
      const f = holder.stack;
      if (!Array.isArray(f) || f.length === 0) return false;
      const file = f[0].getFileName();
      return file === 'node:child_process' || file === 'node:internal/child_process' || file === 'node:internal/worker';
    } catch {
      return false;
    } finally {
      try { E.prepareStackTrace = prepare; E.stackTraceLimit = limit; } catch {}
    }
  };
  // starting wraps fn, a function that starts processes or threads (new
  // for a class), keeping its own properties (promisify's custom form).
  const starting = (fn, construct) => {
    const w = function (...args) {
      spawning++;
      try {
        return construct ? R.construct(fn, args, new.target || fn) : R.apply(fn, this, args);
      } finally {
        spawning--;
      }
    };
    try { Object.defineProperties(w, Object.getOwnPropertyDescriptors(fn)); } catch {}
    return w;
  };
  try {
    const cp = require('child_process');
    for (const k of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
      if (typeof cp[k] === 'function') cp[k] = starting(cp[k], false);
    }
    const wt = require('worker_threads');
    if (typeof wt.Worker === 'function') wt.Worker = starting(wt.Worker, true);
  } catch {}
  const notOurs = (name) => (typeof name === 'string' && name.startsWith('node:') ? 'vm-' + name : name);
  const renamed = (o) => {
    if (typeof o === 'string') return notOurs(o);
    if (o !== null && typeof o === 'object' && typeof o.filename === 'string' && o.filename.startsWith('node:')) {
      return { ...o, filename: notOurs(o.filename) };
    }
    return o;
  };
  try {
    const vm = require('vm');
    const wrap = (k, at) => {
      const fn = vm[k];
      if (typeof fn !== 'function') return;
      vm[k] = function (...args) {
        if (args.length > at) args[at] = renamed(args[at]);
        return R.apply(fn, this, args);
      };
    };
    wrap('runInThisContext', 1);
    wrap('runInNewContext', 2);
    wrap('runInContext', 2);
    wrap('compileFunction', 2);
    wrap('createScript', 1);
    const Script = vm.Script;
    vm.Script = class extends Script {
      constructor(code, options) { super(code, renamed(options)); }
    };
    const M = require('module');
    const compile = M.prototype._compile;
    M.prototype._compile = function (content, filename, ...rest) {
      return R.apply(compile, this, [content, notOurs(filename), ...rest]);
    };
  } catch {}

  const readAll = () => { for (const name of names) record(name); };

  // The raw bindings that start processes (process.binding) take no
  // copy through process.env: a child they start without an environment
  // list inherits this process's, which is handed over unseen. Reaching
  // for them reads every token variable.
  try {
    const binding = process.binding;
    process.binding = function (...args) {
      const b = R.apply(binding, this, args);
      if (args[0] === 'spawn_sync' || args[0] === 'process_wrap') readAll();
      return b;
    };
  } catch {}

  // A process started with Node's internals exposed (--expose-internals,
  // on its command line or in NODE_OPTIONS) reaches the environment
  // through internal bindings that process.env does not see: it reads
  // every token variable.
  try {
    const opts = process.execArgv.concat(String(process.env.NODE_OPTIONS || '').split(/\s+/));
    if (opts.some((o) => /^--expose[-_]internals(=|$)/.test(o))) readAll();
  } catch {}

  // A diagnostic report (process.report) carries the whole environment;
  // its copy records reads as process.env does, and one written to a
  // file is a copy.
  // A report written to a stream (stdout, stderr: a pipe to another
  // process) leaves no file for the search of changed files to find the
  // values in, so writing one reads every token variable; so does a
  // runtime set at start to write reports by itself (--report-on-signal,
  // --report-uncaught-exception, --report-on-fatalerror).
  const copy = () => { if (!copied) { copied = true; mark(path.join(__dirname, 'copy')); } };
  try {
    const report = process.report;
    const getReport = report.getReport, writeReport = report.writeReport;
    const stream = (f) => f === 'stdout' || f === 'stderr';
    if (report.excludeEnv !== true && (report.reportOnSignal || report.reportOnUncaughtException || report.reportOnFatalError)) readAll();
    report.getReport = function (...args) {
      const r = R.apply(getReport, this, args);
      if (r !== null && typeof r === 'object' && r.environmentVariables !== null && typeof r.environmentVariables === 'object') {
        r.environmentVariables = new Proxy(r.environmentVariables, handler);
      }
      return r;
    };
    report.writeReport = function (...args) {
      if (report.excludeEnv !== true) {
        if (stream(typeof args[0] === 'string' ? args[0] : report.filename)) readAll();
        else copy();
      }
      return R.apply(writeReport, this, args);
    };
  } catch {}

  // sweep follows an enumeration of the environment while its keys are
  // read in order: values (get) and descriptors (Object.keys and for-in
  // check each key's descriptor) each have their own place in it.
  let sweep = null; // {keys, get, desc, pending, complete}
  const end = (s) => {
    if (sweep !== s) return;
    sweep = null;
    if (!s.complete) for (const name of s.pending) record(name);
  };
  // inOrder advances s at key for a value read (value) or a descriptor
  // read, and tells whether the read belongs to the sweep.
  const inOrder = (s, key, value) => {
    const at = value ? s.get : s.desc;
    if (key === s.keys[at]) return true; // the same key again
    if (key !== s.keys[at + 1]) return false;
    if (!value) {
      s.desc++;
      return true;
    }
    s.get++;
    if (planted(key)) add(s.pending, key);
    if (s.get === s.keys.length - 1) {
      s.complete = true;
      if (!copied) { copied = true; mark(path.join(__dirname, 'copy')); }
    }
    return true;
  };
  const read = (key, trap, value) => {
    if (typeof key !== 'string') return;
    const s = sweep;
    if (s !== null) {
      if (inOrder(s, key, value)) return;
      if (value) end(s);
      else s.desc = s.keys.length; // descriptors out of order: no longer a sweep
    }
    if (planted(key) && !has(done, key) && !internal(trap)) record(key);
  };

  const handler = {
    get(t, key) {
      read(key, handler.get, true);
      return R.get(t, key);
    },
    getOwnPropertyDescriptor(t, key) {
      read(key, handler.getOwnPropertyDescriptor, false);
      return R.getOwnPropertyDescriptor(t, key);
    },
    ownKeys(t) {
      const keys = R.ownKeys(t);
      if (sweep !== null) end(sweep);
      if (keys.length > 0 && !internal(handler.ownKeys)) {
        const s = { keys, get: -1, desc: -1, pending: new Set(), complete: false };
        sweep = s;
        queueMicrotask(() => end(s));
      }
      return keys;
    },
    set(t, key, value) {
      if (key === 'NODE_OPTIONS') value = keep(String(value));
      return R.set(t, key, value);
    },
    deleteProperty(t, key) {
      if (key === 'NODE_OPTIONS') return R.set(t, key, keep(''));
      return R.deleteProperty(t, key);
    },
  };
  // keep puts this preload back into a NODE_OPTIONS being replaced, so
  // that the Node processes this one starts are recorded too.
  const own = '--require=' + __filename;
  const keep = (v) => (v.includes(own) ? v : (v + ' ' + own).trim());
  try {
    process.env = new Proxy(process.env, handler);
  } catch {}
})();
