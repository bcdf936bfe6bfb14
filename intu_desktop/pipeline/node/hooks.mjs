// Module loader hooks for channel scripts (registered by worker.mjs).
//
// - TypeScript (.ts, .mts) runs as written: it is transpiled on load to ESM with an inline
//   source map, so --enable-source-maps makes stack traces point at .ts lines.
// - Transpiler lookup: the channel project's own node_modules/typescript or node_modules/esbuild
//   (searching upward from the script's folder), else the fallback folders the Python side passes
//   in INTU_WORKER_CONFIG (the app's shipped toolchain, then the one it installed in the data dir).
// - Transpiled output is cached on disk by content hash, so a replacement worker does not load
//   the TypeScript compiler again for files it has already seen.
// - .js files outside node_modules whose package.json does not declare a "type" run as ESM.
// - Relative imports written the TypeScript way ("./lib", "./lib.js" for lib.ts) resolve.
// - The "intu_v" query that worker.mjs adds for hot reload is passed on to relative imports, so
//   a changed entrypoint re-imports its local helpers too.

import { createRequire } from "node:module";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const config = JSON.parse(process.env.INTU_WORKER_CONFIG || "{}");
const cacheDir = config.cacheDir || null;
const fallbackDirs = config.fallbackDirs || [];

const TS_FILE = /\.(ts|mts)$/;
const VERSION_PARAM = "intu_v";
// Bump when the transpile options change so stale cache entries are not reused.
const CACHE_FORMAT = "1";

const transpilerByDir = new Map();
const packageTypeByDir = new Map();

function isInNodeModules(filePath) {
  return filePath.split(path.sep).includes("node_modules");
}

function filePathOf(url) {
  const u = new URL(url);
  u.search = "";
  u.hash = "";
  return fileURLToPath(u);
}

// The compiler itself is required only on a cache miss: loading TypeScript costs ~0.3 s.
function loadTranspiler(kind, baseDir) {
  const req = createRequire(path.join(baseDir, "noop.js"));
  const version = req(`${kind}/package.json`).version;
  let mod = null;
  return {
    kind,
    id: `${kind}@${version}:${baseDir}`,
    get mod() {
      mod ??= req(kind);
      return mod;
    },
  };
}

function findTranspiler(startDir) {
  if (transpilerByDir.has(startDir)) return transpilerByDir.get(startDir);
  let found = null;
  let dir = startDir;
  for (;;) {
    for (const kind of ["typescript", "esbuild"]) {
      if (fs.existsSync(path.join(dir, "node_modules", kind, "package.json"))) {
        found = loadTranspiler(kind, dir);
        break;
      }
    }
    if (found) break;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (!found) {
    for (const base of fallbackDirs) {
      if (fs.existsSync(path.join(base, "node_modules", "typescript", "package.json"))) {
        found = loadTranspiler("typescript", base);
        break;
      }
    }
  }
  if (!found) {
    throw new Error(
      "no TypeScript transpiler found: install typescript in the channel project, " +
        "or run `npm ci --prefix intu_desktop/pipeline/node`",
    );
  }
  transpilerByDir.set(startDir, found);
  return found;
}

function formatDiagnostic(ts, diag) {
  const text = ts.flattenDiagnosticMessageText(diag.messageText, "\n");
  if (diag.file && diag.start !== undefined) {
    const { line, character } = diag.file.getLineAndCharacterOfPosition(diag.start);
    return `${path.basename(diag.file.fileName)}(${line + 1},${character + 1}): error TS${diag.code}: ${text}`;
  }
  return `error TS${diag.code}: ${text}`;
}

function transpile(transpiler, filename, source) {
  if (transpiler.kind === "esbuild") {
    return transpiler.mod.transformSync(source, {
      loader: "ts",
      format: "esm",
      target: "es2022",
      sourcemap: "inline",
      sourcesContent: true,
      sourcefile: filename,
    }).code;
  }
  const ts = transpiler.mod;
  const out = ts.transpileModule(source, {
    fileName: filename,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
      // Type-only imports such as `import { Message } from "@intu/sdk"` must be elided;
      // verbatimModuleSyntax would keep them and fail at run time.
      verbatimModuleSyntax: false,
    },
  });
  const errors = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const err = new SyntaxError(errors.map((d) => formatDiagnostic(ts, d)).join("\n"));
    err.stack = `SyntaxError: ${err.message}`;
    throw err;
  }
  return out.outputText;
}

function transpileCached(filename, source) {
  const transpiler = findTranspiler(path.dirname(filename));
  const key = crypto
    .createHash("sha256")
    .update(`${CACHE_FORMAT}\0${transpiler.id}\0${filename}\0${source}`)
    .digest("hex");
  const cacheFile = cacheDir ? path.join(cacheDir, `${key}.mjs`) : null;
  if (cacheFile) {
    try {
      const code = fs.readFileSync(cacheFile, "utf8");
      try {
        const now = new Date();
        fs.utimesSync(cacheFile, now, now); // in use: the app prunes entries unused for 30 days
      } catch {
        // a read-only cache still serves
      }
      return code;
    } catch {
      // not cached yet
    }
  }
  const code = transpile(transpiler, filename, source);
  if (cacheFile) {
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      // Write then rename: another worker may be transpiling the same file right now.
      const tmp = `${cacheFile}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, cacheFile);
    } catch {
      // The cache is an optimisation; a read-only data dir must not break scripts.
    }
  }
  return code;
}

function declaredPackageType(dir) {
  if (packageTypeByDir.has(dir)) return packageTypeByDir.get(dir);
  let type = null;
  const pkg = path.join(dir, "package.json");
  if (fs.existsSync(pkg)) {
    try {
      type = JSON.parse(fs.readFileSync(pkg, "utf8")).type || "";
    } catch {
      type = "";
    }
  } else {
    const parent = path.dirname(dir);
    type = parent === dir ? "" : declaredPackageType(parent);
  }
  packageTypeByDir.set(dir, type);
  return type;
}

function tsCandidates(specifier, parentURL) {
  const base = new URL(specifier, parentURL);
  base.search = "";
  const href = base.href;
  const out = [href + ".ts", href + ".mts", href + "/index.ts"];
  if (href.endsWith(".js")) out.unshift(href.slice(0, -3) + ".ts");
  if (href.endsWith(".mjs")) out.unshift(href.slice(0, -4) + ".mts");
  return out;
}

function isRelative(specifier) {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
}

function withVersion(url, parentURL) {
  if (!parentURL || !url.startsWith("file:")) return url;
  const version = new URL(parentURL).searchParams.get(VERSION_PARAM);
  if (!version) return url;
  const u = new URL(url);
  if (u.search || isInNodeModules(fileURLToPath(u))) return url;
  u.searchParams.set(VERSION_PARAM, version);
  return u.href;
}

export async function resolve(specifier, context, nextResolve) {
  const parentURL = context.parentURL;
  let result;
  try {
    result = await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !isRelative(specifier) || !parentURL?.startsWith("file:")) {
      throw err;
    }
    const hit = tsCandidates(specifier, parentURL).find((c) => fs.existsSync(fileURLToPath(c)));
    if (!hit) throw err;
    result = { url: hit, shortCircuit: true };
  }
  return { ...result, url: withVersion(result.url, parentURL) };
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:")) return nextLoad(url, context);
  const filename = filePathOf(url);
  if (TS_FILE.test(filename)) {
    const source = fs.readFileSync(filename, "utf8");
    return { format: "module", source: transpileCached(filename, source), shortCircuit: true };
  }
  if (filename.endsWith(".js") && !isInNodeModules(filename)) {
    if (!declaredPackageType(path.dirname(filename))) {
      return nextLoad(url, { ...context, format: "module" });
    }
  }
  return nextLoad(url, context);
}
