// Long-lived Node.js worker that runs channel scripts for intu Desktop.
//
// Protocol (one JSON object per line):
//   stdin  <- {"id": 1, "entrypoint": "/abs/transformer.ts", "function": "auto:transform", "args": [msg, ctx]}
//   stdout -> {"type": "ready", "node": "v20.1.0"}                  once, at start
//             {"type": "started", "id": 1, "function": "default"}  module loaded, function invoked
//             {"type": "log", "id": 1, "line": "[info] ..."}       user console output, streamed
//             {"type": "result", "id": 1, "ok": true, "value": ...}
//             {"type": "result", "id": 1, "ok": false, "error": "...", "stack": "..."}
//             {"type": "exit", "code": 3}                          the process is exiting
// process.stdout belongs to the protocol: user console.* and stdout/stderr writes are captured
// and attributed to the call that made them (AsyncLocalStorage), so a timer that logs after
// its call has returned never lands in the next call's logs.
//
// function: "auto:transform" calls the default export when it is a function (spec contract),
// else the named `transform` (intu contract); "auto:validate" calls the named `validate`, else
// the default export. Any other value names the export to call.

import { AsyncLocalStorage } from "node:async_hooks";
import crypto from "node:crypto";
import fs from "node:fs";
import module from "node:module";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import util from "node:util";

const MAX_LOG_LINES = 1000;
const MAX_LOG_CHARS = 10000;
const VERSION_PARAM = "intu_v";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const HERE_URL = pathToFileURL(HERE).href;

// Older Node versions (before 18.19 / 20.6) get the hooks via --experimental-loader instead.
if (typeof module.register === "function" && !process.env.INTU_HOOKS_PRELOADED) {
  module.register("./hooks.mjs", import.meta.url);
}

const protocolWrite = process.stdout.write.bind(process.stdout);
// Pipes are asynchronous on POSIX: lines still queued when a script calls process.exit() would
// be lost (its last logs, the exit notice). Blocking writes keep every line.
try {
  process.stdout._handle?.setBlocking?.(true);
} catch {
  // not a pipe (or an old Node): nothing to do
}
function send(obj) {
  protocolWrite(JSON.stringify(obj) + "\n");
}

const callContext = new AsyncLocalStorage();
let activeCall = null;

function capture(level, text, call = callContext.getStore() ?? activeCall) {
  // Output after its call has returned (a late timer) belongs to no call: drop it.
  if (!call || call.done) return;
  if (call.lines >= MAX_LOG_LINES) {
    if (call.lines === MAX_LOG_LINES) send({ type: "log", id: call.id, line: "[warn] (further output dropped)" });
    call.lines += 1;
    return;
  }
  call.lines += 1;
  const line = text.length > MAX_LOG_CHARS ? `${text.slice(0, MAX_LOG_CHARS)}... (truncated)` : text;
  send({ type: "log", id: call.id, line: `[${level}] ${line}` });
}

for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => capture(level, util.format(...args));
}
console.trace = (...args) => {
  const err = new Error(util.format(...args));
  capture("trace", (err.stack || "").replace(/^Error: /, ""));
};
console.dir = (obj, options) => capture("log", util.inspect(obj, options));

function captureStream(level) {
  return (chunk, encoding, callback) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const line of text.replace(/\n$/, "").split("\n")) capture(level, line);
    const cb = typeof encoding === "function" ? encoding : callback;
    if (typeof cb === "function") process.nextTick(cb);
    return true;
  };
}
process.stdout.write = captureStream("stdout");
process.stderr.write = captureStream("stderr");

function describe(reason) {
  if (reason instanceof Error) return cleanStack(reason.stack) || String(reason);
  return typeof reason === "string" ? reason : util.inspect(reason);
}

// A script's forgotten promise must not take the worker (and another call's result) down.
process.on("unhandledRejection", (reason) => capture("error", `unhandled promise rejection: ${describe(reason)}`));
process.on("uncaughtException", (err) => capture("error", `uncaught exception: ${describe(err)}`));
// Lets the Python side tell a script's process.exit() from a crash.
process.on("exit", (code) => {
  try {
    send({ type: "exit", code });
  } catch {
    // stdout already closed
  }
});

function cleanStack(stack) {
  if (!stack) return null;
  return stack
    .split("\n")
    // Drop the frames of this worker and of Node itself; keep the message lines.
    .filter((line) => !/^\s+at /.test(line) || !(line.includes(HERE) || line.includes(HERE_URL) || /[( ]node:/.test(line)))
    .join("\n")
    .replace(new RegExp(`\\?${VERSION_PARAM}=[0-9a-f]+`, "g"), "");
}

const loaded = new Map(); // entrypoint path -> {mtimeMs, size, mod}

async function loadEntrypoint(entrypoint) {
  const stat = fs.statSync(entrypoint);
  const cached = loaded.get(entrypoint);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.mod;
  // Hot reload: a new content hash gives a new module URL, which ESM imports afresh.
  const version = crypto.createHash("sha256").update(fs.readFileSync(entrypoint)).digest("hex").slice(0, 16);
  const url = `${pathToFileURL(entrypoint).href}?${VERSION_PARAM}=${version}`;
  const mod = await import(url);
  loaded.set(entrypoint, { mtimeMs: stat.mtimeMs, size: stat.size, mod });
  return mod;
}

const CANDIDATES = {
  "auto:transform": ["default", "transform"],
  "auto:validate": ["validate", "default"],
};

function pickFunction(mod, wanted, entrypoint) {
  const names = CANDIDATES[wanted] || [wanted];
  for (const name of names) {
    if (typeof mod[name] === "function") return [name, mod[name]];
  }
  throw new Error(`function ${names.join(" or ")} not exported by ${path.basename(entrypoint)}`);
}

function errorFields(err) {
  if (err instanceof Error) {
    return { error: err.message || err.name, stack: cleanStack(err.stack) };
  }
  if (typeof err === "string") return { error: err, stack: null };
  return { error: util.inspect(err), stack: null };
}

async function handle(request) {
  const call = { id: request.id, done: false, lines: 0 };
  activeCall = call;
  let response;
  await callContext.run(call, async () => {
    let name = null;
    try {
      const mod = await loadEntrypoint(request.entrypoint);
      if (request.load_only) {
        // Warm-up: the module is loaded (and transpiled) ahead of its first message.
        response = { type: "result", id: call.id, ok: true, value: null, function: null };
        return;
      }
      const [picked, fn] = pickFunction(mod, request.function, request.entrypoint);
      name = picked;
      send({ type: "started", id: call.id, function: name });
      const value = await fn(...(request.args || []));
      response = { type: "result", id: call.id, ok: true, value: value === undefined ? null : value, function: name };
      try {
        JSON.stringify(response);
      } catch (err) {
        response = {
          type: "result",
          id: call.id,
          ok: false,
          function: name,
          error: `${name} returned a value that is not JSON-serialisable: ${err.message}`,
          stack: null,
        };
      }
    } catch (err) {
      response = { type: "result", id: call.id, ok: false, function: name, ...errorFields(err) };
    }
  });
  call.done = true;
  activeCall = null;
  send(response);
}

let queue = Promise.resolve();
const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    send({ type: "protocol-error", error: `bad request line: ${err.message}` });
    return;
  }
  // One call at a time: the pool gives each worker a single call, this keeps it so.
  queue = queue.then(() => handle(request));
});
// The Python side closes stdin to stop the worker.
input.on("close", () => queue.then(() => process.exit(0)));

send({ type: "ready", node: process.version });
