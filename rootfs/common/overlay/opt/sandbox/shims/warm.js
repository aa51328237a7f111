'use strict';
/*
 * Warm start of the node runtime (docs/SECURITY.md, "Warm interpreters").
 *
 * A responder starts `node -r /opt/sandbox/shims/warm.js /work/main.js` in
 * a jail made exactly as for a run, while it is idle, in / rather than
 * /work: node reads (and caches) the package.json of its working directory
 * while it loads this file, before the job's files are in /work.  Node loads this file after
 * its own start-up and before the main module, so it blocks here, reading
 * one frame from stdin ("LEN\n" then LEN bytes: argc, argv..., envc,
 * env..., each ending in a NUL byte; src/api/warm.c), and makes the
 * program's world that of a cold `node main.js`:
 *  - the environment (process.env and the C environ, in the job's order);
 *  - process.argv: the job's arguments after the (already resolved) script;
 *  - process.execArgv empty, as a cold run's (child_process.fork copies it);
 *  - this file out of require.cache;
 *  - the working directory /work.
 * Then node itself runs the main module (run_main_module), as in a cold
 * run: require.main, module resolution from /work, ES modules, uncaught
 * exceptions and their stack traces are node's own, with no frame of this
 * file.  The rest of stdin is the program's: process.stdin is untouched.
 *
 * Worker threads load preload modules too: there this does nothing but
 * leave require.cache and process.execArgv as a cold run's.
 */
(function warmStart() {
  delete require.cache[__filename];
  process.execArgv.length = 0;
  if (!require('worker_threads').isMainThread)
    return;
  const fs = require('fs');

  function readExactly(n) {
    const buf = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      let got;
      try {
        got = fs.readSync(0, buf, off, n - off, null);
      } catch (e) {
        if (e.code === 'EAGAIN' || e.code === 'EINTR')
          continue;
        throw e;
      }
      if (got === 0)
        process.reallyExit(125);  // the responder went away: nothing ran
      off += got;
    }
    return buf;
  }

  let head = '';
  for (;;) {
    const c = readExactly(1)[0];
    if (c === 0x0a)
      break;
    head += String.fromCharCode(c);
  }
  const body = readExactly(parseInt(head, 10));
  const parts = [];
  for (let start = 0, i = 0; i < body.length; i++) {
    if (body[i] === 0) {
      parts.push(body.toString('utf8', start, i));
      start = i + 1;
    }
  }
  const argc = parseInt(parts[0], 10);
  const argv = parts.slice(1, 1 + argc);
  const envc = parseInt(parts[1 + argc], 10);
  const env = parts.slice(2 + argc, 2 + argc + envc);

  for (const k of Object.keys(process.env))
    delete process.env[k];
  for (const kv of env) {
    const eq = kv.indexOf('=');
    process.env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  // argv[0] is node, argv[1] the script (process.argv[1], resolved by
  // node at start-up as in a cold run): the job's arguments follow.
  process.argv.length = 2;
  for (const a of argv.slice(2))
    process.argv.push(a);
  process.chdir('/work');
})();
