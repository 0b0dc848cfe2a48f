#!/usr/bin/env node
// `npm run bundle` (part of build, hence of prepare and pretest): bundles the compiled
// dist/ (run `tsc -p tsconfig.json` first) into the two files that users run.
//
//   dist/tsbpf.mjs       the package entry (`import ... from 'tsbpf'`, package.json
//                        "exports"): one ESM file instead of ~60 modules to resolve.
//   dist/cli.bundle.cjs  the CLI (bin/load.js, through src/cli/boot.ts): one CommonJS
//                        file that boot.ts runs as a vm.Script with a V8 code cache,
//                        which finishBundle() writes with the list of the bundle's inputs.
//
// koffi stays outside both (a native module, loaded from node_modules at run time).
// Both keep the names of classes and functions (keepNames): esbuild otherwise renames a
// class that refers to itself (`_SyscallError`), and err.name, stack traces and
// `instanceof`-free checks by name would show the renamed one.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root); // esbuild's metafile paths (the bundle's inputs) are relative to here

// keepNames wraps every named function in esbuild's __name(fn, "name"), which redefines
// `name` with Object.defineProperty: for a closure made on every call of a hot function
// (parsers make dozens per object) that cost ~20% of loadCollectionSpec. Only classes
// need it (esbuild renames self-referencing classes: `class _SyscallError`), and
// functions without a prototype (arrows, methods, async functions) keep their inferred
// names anyway: esbuild's helper is replaced by one that leaves those alone, and any
// function whose name is already the one asked for (checked first: reading `prototype` of
// a nested `function` makes its prototype object, ~4% of loadCollectionSpec).
const NAME_HELPER = /^var __name = \(target, (\w+)\) => __defProp\(target, "name", \{ value(?:: \1)?, configurable: true \}\);$/m;
// the same helper in a minified bundle: `var a=(t,e)=>Lo(t,"name",{value:e,configurable:!0});`
const MINIFIED_NAME_HELPER = /var ([\w$]+)=\(([\w$]+),([\w$]+)\)=>([\w$]+)\(\2,"name",\{value:\3,configurable:!0\}\);/;
function cheapNames(file) {
  const text = readFileSync(file, 'utf8');
  if (NAME_HELPER.test(text)) {
    writeFileSync(file, text.replace(NAME_HELPER, 'var __name = (target, name) => target.name === name || target.prototype === undefined ? target : __defProp(target, "name", { value: name, configurable: true });'));
  } else if (MINIFIED_NAME_HELPER.test(text)) {
    // The minified CLI: only classes keep their names (err.name, `new.target.name` in
    // TsbpfError, instanceof-free checks); esbuild names them in a static block,
    // `static{a(this,"Collection")}`, which gets a helper of its own. Functions keep their
    // minified names: defining `name` on each of the ~600 function declarations the CLI
    // loads cost every start ~2 ms and ~0.4 MB of garbage, and the CLI shows no stack
    // traces (a stack trace from it names minified functions anyway).
    const [, f, t, v, def] = MINIFIED_NAME_HELPER.exec(text);
    const classes = `${f}$class`;
    let n = 0;
    const out = text
      .replace(MINIFIED_NAME_HELPER, `var ${f}=(${t})=>${t};var ${classes}=(${t},${v})=>${def}(${t},"name",{value:${v},configurable:!0});`)
      .replaceAll(`static{${f}(this,"`, () => { n++; return `static{${classes}(this,"`; });
    if (n === 0) throw new Error(`${file}: no class named in a static block; update scripts/bundle.mjs`);
    writeFileSync(file, out);
  } else throw new Error(`${file}: esbuild's __name helper not found; update scripts/bundle.mjs`);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['koffi'],
  keepNames: true,
  logLevel: 'warning',
};

// The package entry. Bundled CommonJS dependencies (elfy) call require(), which an ES
// module does not have: the banner makes one for them.
await build({
  ...common,
  entryPoints: ['dist/index.js'],
  format: 'esm',
  outfile: 'dist/tsbpf.mjs',
  banner: { js: "import { createRequire as __tsbpfCreateRequire } from 'node:module'; const require = __tsbpfCreateRequire(import.meta.url);" },
});
cheapNames('dist/tsbpf.mjs');

// The CLI. CommonJS has no import.meta: its one use (createRequire(import.meta.url) for
// koffi, in src/sys/syscall.ts) gets the bundle's own file URL instead. Minified (names of
// functions and classes kept): V8 reads and deserialises the bundle and its code cache
// ~2 ms faster at every start (4.4 against 6.2 ms here; issue 15's cold-start budget).
// Stack traces then point into one long line: to debug the CLI, remove
// dist/cli.bundle.cjs, and bin/load.js runs dist/cli/main.js (boot.ts). The metafile
// lists the inputs, so that boot.ts can tell when a `tsc` made the bundle stale. Written
// under a temporary name and renamed: a CLI started meanwhile never reads half a file.
const tmp = 'dist/cli.bundle.cjs.tmp';
const { metafile } = await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  format: 'cjs',
  outfile: tmp,
  minify: true,
  metafile: true,
  define: { 'import.meta.url': '__tsbpfUrl' },
  banner: { js: "const __tsbpfUrl = require('node:url').pathToFileURL(__filename).href;" },
});
cheapNames(tmp);
writeFileSync('dist/cli.bundle.meta.json', JSON.stringify(metafile));
renameSync(tmp, 'dist/cli.bundle.cjs');

// bin/load.js's start-up code (src/cli/boot.ts) as CommonJS, dist/cli/boot.cjs: bin/ is
// CommonJS (bin/package.json), which spares `node bin/load.js` Node's ES module loader.
// Its fallback to the unbundled CLI, import('./main.js'), stays an import of dist/cli/.
await build({
  ...common,
  entryPoints: ['dist/cli/boot.js'],
  format: 'cjs',
  outfile: 'dist/cli/boot.cjs',
  external: ['./main.js'],
  define: { 'import.meta.url': '__tsbpfUrl' },
  banner: { js: "const __tsbpfUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The bundle's list of inputs and its V8 code cache (src/cli/boot.ts).
const { finishBundle } = await import(pathToFileURL(path.join(root, 'dist/cli/boot.js')).href);
await finishBundle();
