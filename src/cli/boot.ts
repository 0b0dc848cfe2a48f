/**
 * Start-up of `node bin/load.js` (issue 5: at most 50 ms beyond `node -e 0`; issue 15: 30 ms).
 *
 * `npm run bundle` (part of build, prepare and pretest) bundles the compiled CLI
 * (dist/cli/main.js and everything it imports, elfy included; koffi stays outside) into
 * one CommonJS file, dist/cli.bundle.cjs, then `finishBundle()` writes the list of files
 * it was made from (dist/cli.bundle.inputs) and a V8 code cache for it
 * (dist/cli.bundle.cache): the functions a training run of the CLI compiled (a static
 * report, a plain load and --json of a fixture, where the build may load it), else every
 * function. Started from the bundle and its cache, Node resolves one module instead of ~40
 * and compiles almost nothing. bin/load.js runs this module as CommonJS
 * (dist/cli/boot.cjs, bundled from this file), so that Node never starts its ES module
 * loader either.
 *
 * The bundle is used only when none of its inputs is newer than it (so a `tsc` after an
 * edit, even a watch-mode one that rewrites a single file, never runs stale code), the
 * cache only when it is at least as new as the bundle (V8 checks a cache against the
 * source's length, not its content) and V8 accepts it (same Node version and flags).
 * Otherwise: the bundle compiled as usual, or dist/cli/main.js through ESM.
 *
 * These checks apply to a checkout, where src/ is next to dist/ and tsc may rewrite dist/
 * at any time. An installed package has no src/ (package.json "files"): nothing rebuilds
 * its dist/, and npm does not keep file times when it unpacks (every file gets the time
 * it was written), so there the bundle and its cache are used as they are.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

type Main = (argv: string[]) => Promise<number>;

const dist = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const root = path.dirname(dist);
const BUNDLE = path.join(dist, 'cli.bundle.cjs');
const CACHE = path.join(dist, 'cli.bundle.cache');
const INPUTS = path.join(dist, 'cli.bundle.inputs');
const META = path.join(dist, 'cli.bundle.meta.json');

const mtime = (file: string): number | undefined => statSync(file, { throwIfNoEntry: false })?.mtimeMs;
/** A checkout (see above): dist/ may be newer than the bundle. */
const rebuildable = (): boolean => mtime(path.join(root, 'src')) !== undefined;

/** The bundle as a script: CommonJS's function wrapper around it. */
function compile(cachedData?: Buffer): vm.Script {
  const src = readFileSync(BUNDLE, 'utf8');
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${src}\n})`, { filename: BUNDLE, cachedData });
}

function run(script: vm.Script): Main {
  const module = { exports: {} as { main?: Main } };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(BUNDLE), module, BUNDLE, dist);
  return module.exports.main!;
}

/** True when the bundle and its list of inputs exist and no input is missing or newer. */
function bundleIsFresh(bundled: number): boolean {
  if (!rebuildable()) return true;
  let inputs: string[];
  try { inputs = readFileSync(INPUTS, 'utf8').split('\n'); } catch { return false; }
  if (mtime(INPUTS)! < bundled) return false; // a bundle rebuilt without finishBundle()
  for (const f of inputs) {
    if (f === '') continue;
    const t = mtime(`${root}${path.sep}${f}`); // not path.join: ~1 ms for ~120 inputs at every start
    if (t === undefined || t > bundled) return false;
  }
  return true;
}

/** The code cache when it is at least as new as the bundle (modified at `bundled`). */
function cacheFor(bundled: number): Buffer | undefined {
  const cached = mtime(CACHE);
  if (cached === undefined || (cached < bundled && rebuildable())) return undefined;
  try { return readFileSync(CACHE); } catch { return undefined; }
}

/** The CLI's main(): from the bundle when it is fresh, else from dist/cli/main.js. */
export async function loadMain(): Promise<Main> {
  const bundled = mtime(BUNDLE);
  if (bundled !== undefined && bundleIsFresh(bundled)) return run(compile(cacheFor(bundled)));
  return ((await import('./main.js')) as { main: Main }).main;
}

/** What loadMain() runs, for benchmarks: 'bundle + code cache', 'bundle (no usable code cache)' or 'dist/cli/main.js (no fresh bundle)'. */
export function entryPoint(): string {
  const bundled = mtime(BUNDLE);
  if (bundled === undefined || !bundleIsFresh(bundled)) return 'dist/cli/main.js (no fresh bundle: npm run bundle)';
  const data = cacheFor(bundled);
  return data && !compile(data).cachedDataRejected ? 'bundle + code cache' : 'bundle (no usable code cache: npm run bundle)';
}

/** Write `data` to `file` through a rename: a CLI started meanwhile sees the old file or the new one. */
function writeAtomic(file: string, data: string | Uint8Array): void {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

/** The object a training run loads (bpf-objs/, in a checkout only). */
const TRAINING_OBJECT = path.join(root, 'bpf-objs', 'tailcall_uretprobe.bpf.o');
/** The CLI runs that train the code cache: a static report, a plain load (the budgeted start), --json. */
const TRAINING_RUNS = [['--no-load', TRAINING_OBJECT], [TRAINING_OBJECT], ['--json', TRAINING_OBJECT]];

/**
 * The training step of finishBundle(), in a child process with standard output discarded:
 * compiles the bundle with no cache, runs the CLI's main() once per TRAINING_RUNS entry,
 * then writes the code cache of what was compiled by then (V8 keeps the functions compiled
 * lazily while running) to `out`. Resolves to the first non-zero exit code of those runs.
 */
export async function trainBundle(out: string): Promise<number> {
  const script = compile();
  const main = run(script);
  for (const argv of TRAINING_RUNS) {
    const code = await main(argv);
    if (code !== 0) return code;
  }
  writeFileSync(out, script.createCachedData());
  return 0;
}

/**
 * The code cache of the functions a load runs, from a training run (trainBundle) where it
 * can load (root, or CAP_BPF); undefined where it cannot. Smaller than a cache of every
 * function (~0.6 MB against ~1.2 MB here): V8 deserialises it in ~6.5 ms instead of
 * ~8.6 ms, and a CLI start does not compile the rest anyway.
 */
async function trainedCache(): Promise<Buffer | undefined> {
  if (process.env.TSBPF_TRAIN_CACHE === '0' || mtime(TRAINING_OBJECT) === undefined) return undefined;
  const { spawnSync } = await import('node:child_process');
  const out = `${CACHE}.trained`;
  const boot = JSON.stringify(pathToFileURL(fileURLToPath(import.meta.url)).href);
  const r = spawnSync(process.execPath, ['-e', `import(${boot}).then((m) => m.trainBundle(${JSON.stringify(out)})).then((c) => process.exit(c))`], {
    stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000,
  });
  try {
    return r.status === 0 ? readFileSync(out) : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(out, { force: true });
  }
}

/**
 * Build step after esbuild (run with the package root as the working directory): the
 * bundle's inputs from esbuild's metafile, then the code cache, checked to be accepted by
 * V8: the trained one (trainedCache) where a training run could load its object, else
 * one with every function of the bundle compiled (V8's --no-lazy while compiling).
 */
export async function finishBundle(): Promise<void> {
  if (/\bimport\s*\(/.test(readFileSync(BUNDLE, 'utf8'))) {
    throw new Error(`${BUNDLE}: contains import(), which a vm.Script cannot run (import builtins statically)`);
  }
  const meta = JSON.parse(readFileSync(META, 'utf8')) as { inputs: Record<string, unknown> };
  // Only the package's own files: a dependency changes with an `npm install`, which
  // rebuilds, and in an installed package it lives elsewhere (hoisted node_modules), where
  // a path relative to the package would be missing and the bundle never used.
  const inputs = Object.keys(meta.inputs).map((f) => path.relative(root, path.resolve(f))).filter((f) => !f.split(path.sep).includes('node_modules'));
  writeAtomic(INPUTS, `${inputs.join('\n')}\n`);
  const trained = await trainedCache();
  if (trained && !compile(trained).cachedDataRejected) {
    writeAtomic(CACHE, trained);
    return;
  }
  const { setFlagsFromString } = await import('node:v8');
  let script: vm.Script;
  setFlagsFromString('--no-lazy');
  try { script = compile(); } finally { setFlagsFromString('--lazy'); }
  writeAtomic(CACHE, script.createCachedData());
  if (compile(readFileSync(CACHE)).cachedDataRejected) throw new Error(`${CACHE}: V8 rejects the code cache it just wrote`);
}
