'use strict';
/*
 * Handler shim: calls module.function(event, context) from the user's files.
 *
 * Usage: node handler.js MODULE.FUNCTION EVENT_PATH RESULT_PATH
 *
 * The working directory holds the user's files (/work in the jail):
 * "main.handler" loads ./main.js (CommonJS via require, or an ES module via
 * import()), ./main.mjs or ./main.cjs.  The handler may return a value or a
 * Promise.  The outcome is written to RESULT_PATH as one JSON object:
 *     {"ok": true, "result": <JSON value>}
 *     {"ok": false, "error": "<Type>: <message>", "traceback": "..."}
 * The shim exits 0 in both cases, so a non-zero exit status means node itself
 * died.  What the handler prints still goes to stdout/stderr.  An `undefined`
 * result is written as null.
 *
 * context is a plain object: function_name (MODULE.FUNCTION), request_id
 * ($SANDBOX_REQUEST_ID, only when set), remaining_time_ms (only when
 * $SANDBOX_WALL_MS is set).  Callback-style handlers (event, context,
 * callback) are not supported.
 */
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const START = Date.now();

function makeContext(spec) {
  const ctx = { function_name: spec };
  const requestId = process.env.SANDBOX_REQUEST_ID;
  if (requestId) ctx.request_id = requestId;
  const wallMs = process.env.SANDBOX_WALL_MS || '';
  if (/^[0-9]+$/.test(wallMs)) {
    ctx.remaining_time_ms = Math.max(0, Number(wallMs) - (Date.now() - START));
  }
  return ctx;
}

function errorOf(err) {
  if (err instanceof Error || (err && typeof err === 'object' && 'message' in err)) {
    const name = err.name || (err.constructor && err.constructor.name) || 'Error';
    return { error: `${name}: ${err.message}`, traceback: String(err.stack || '') };
  }
  return { error: `Error: ${String(err)}`, traceback: '' };
}

function findModuleFile(moduleName) {
  const base = path.resolve(process.cwd(), moduleName);
  for (const ext of ['.js', '.mjs', '.cjs', '']) {
    const file = base + ext;
    try {
      if (fs.statSync(file).isFile()) return file;
    } catch (e) { /* try the next extension */ }
  }
  const err = new Error(`cannot find module '${moduleName}' (.js, .mjs or .cjs) in ${process.cwd()}`);
  err.name = 'ModuleNotFoundError';
  throw err;
}

function looksLikeEsm(err) {
  return err instanceof SyntaxError &&
    /import statement outside a module|Unexpected token 'export'|import\.meta|await is only valid/.test(err.message);
}

/*
 * node 18 treats a .js file as CommonJS unless a package.json says
 * "type": "module".  An ES module in main.js is imported from a hidden .mjs
 * copy next to it (so its relative imports still resolve), removed at once.
 */
async function importEsmCopy(file) {
  const copy = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.mjs`);
  fs.copyFileSync(file, copy);
  try {
    return await import(pathToFileURL(copy).href);
  } finally {
    fs.rmSync(copy, { force: true });
  }
}

async function loadModule(file) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  try {
    return require(file);
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(file).href);
    if (looksLikeEsm(err)) return importEsmCopy(file);
    throw err;
  }
}

async function loadFunction(spec) {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw new TypeError(`handler must be 'module.function', got '${spec}'`);
  }
  const moduleName = spec.slice(0, dot);
  const funcName = spec.slice(dot + 1);
  const mod = await loadModule(findModuleFile(moduleName));
  let fn = mod ? mod[funcName] : undefined;
  if (fn === undefined && mod && mod.default) fn = mod.default[funcName];
  if (fn === undefined) {
    const err = new Error(`module '${moduleName}' has no export '${funcName}'`);
    err.name = 'AttributeError';
    throw err;
  }
  if (typeof fn !== 'function') throw new TypeError(`${spec} is not a function`);
  return fn;
}

function readEvent(eventPath) {
  try {
    return { event: JSON.parse(fs.readFileSync(eventPath, 'utf8')) };
  } catch (err) {
    const e = errorOf(err);
    return { failure: { ok: false, error: `EventError: ${e.error}`, traceback: '' } };
  }
}

function serialize(value) {
  try {
    return JSON.stringify({ ok: true, result: value === undefined ? null : value });
  } catch (err) {   /* circular structure, BigInt, a throwing toJSON() */
    const name = (err && err.name) || 'TypeError';
    return JSON.stringify({ ok: false, error: `${name}: result is not JSON serializable: ${err && err.message}`, traceback: '' });
  }
}

async function run(spec, eventPath) {
  const { event, failure } = readEvent(eventPath);
  if (failure) return JSON.stringify(failure);
  let value;
  try {
    const fn = await loadFunction(spec);
    value = await fn(event, makeContext(spec));
  } catch (err) {
    return JSON.stringify({ ok: false, ...errorOf(err) });
  }
  return serialize(value);
}

function finish(resultPath, json) {
  fs.writeFileSync(resultPath, json);
  // Exit now: timers the handler left behind must not hold the run until the
  // wall-clock limit.  Writes to pipes and files are synchronous on Linux, so
  // nothing printed is lost.
  process.exit(0);
}

function main(argv) {
  if (argv.length !== 3) {
    process.stderr.write('usage: handler.js MODULE.FUNCTION EVENT RESULT\n');
    process.exit(2);
  }
  const [spec, eventPath, resultPath] = argv;
  // An exception thrown from a timer or a rejected promise nobody awaits is
  // the handler's failure, reported like any other.
  const onAsyncError = (err) => finish(resultPath, JSON.stringify({ ok: false, ...errorOf(err) }));
  process.on('uncaughtException', onAsyncError);
  process.on('unhandledRejection', onAsyncError);
  run(spec, eventPath).then((json) => finish(resultPath, json));
}

main(process.argv.slice(2));
