// The layer rules of DESIGN.md, read from the imports of src/**: which folder may import
// which (spec and core stay pure, load never imports link or events, nothing imports the
// CLI), src/sys is the only user of koffi, and no two files import each other in a circle.
// Type-only imports count: they tie the layers as much as values do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const src = path.join(root, 'src');

/** The ground floor: files of src/ itself and the kernel's name tables, imported from anywhere. */
const GROUND = ['errors', 'bytes', 'file', 'kernel'];
const PARSERS = [...GROUND, 'wasm', 'elf', 'btf', 'asm'];
/**
 * Layer -> the layers it may import (besides itself). A layer that is not a key is a
 * folder or file this test does not know yet: add it here, with DESIGN.md's rules.
 */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [], bytes: [], file: [], kernel: [],
  wasm: [], // pure: the WebAssembly encoding and the typed WebAssembly API, imports nothing
  elf: GROUND, btf: [...GROUND, 'wasm'], asm: GROUND,
  core: PARSERS, // pure: target BTF comes in as bytes or a Btf, never from src/sys
  spec: [...PARSERS, 'core'], // pure: no syscalls
  sys: GROUND, // knows nothing of ELF or BTF
  load: [...PARSERS, 'core', 'spec', 'sys'], // never link or events
  link: [...PARSERS, 'core', 'spec', 'sys', 'load'],
  events: [...PARSERS, 'spec', 'sys', 'load'],
  version: [],
  // tsbpf-gen: pure (object bytes in, module text out); from load only the pure codec
  // rules (values.ts, map-codec.ts), so that generated types follow the decoders
  gen: [...PARSERS, 'spec', 'load', 'version'],
  skeleton: [...PARSERS, 'spec', 'load', 'events'], // what generated modules use at run time
  cli: [...PARSERS, 'core', 'spec', 'sys', 'load', 'link', 'events', 'gen'],
  index: [...PARSERS, 'core', 'spec', 'sys', 'load', 'link', 'events', 'gen', 'skeleton', 'version'],
};
/** Node built-ins a pure layer must not use (processes, sockets, threads, native code). */
const IMPURE_BUILTINS = ['child_process', 'net', 'dgram', 'worker_threads', 'module', 'vm', 'cluster'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** Module specifiers of a file: import / export ... from, import '...', import('...'), require('...'). */
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const forms = [
    /(?:^|[\n;])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of forms) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

const layerOf = (file: string): string => {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
};

/** The source file a relative specifier names (.js -> .ts, a folder -> its index.ts). */
function resolve(from: string, spec: string): string {
  const p = path.resolve(path.dirname(from), spec);
  for (const c of [p.replace(/\.js$/, '.ts'), `${p}.ts`, path.join(p, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  throw new Error(`${path.relative(root, from)}: import '${spec}' names no file of src`);
}

interface Edge { from: string; to: string; spec: string }
const files = sources(src);
const edges: Edge[] = [];
const external: Edge[] = [];
for (const f of files) {
  for (const s of specifiers(readFileSync(f, 'utf8'))) {
    if (s.startsWith('.')) edges.push({ from: f, to: resolve(f, s), spec: s });
    else external.push({ from: f, to: s, spec: s });
  }
}
const rel = (f: string) => path.relative(root, f);

test('the import reader finds the forms src uses', () => {
  assert.equal(specifiers(`import a from './a.js';\nimport type { B } from "../b.js";\nexport { c } from './c.js';\nexport * from './d.js';\nimport './e.js';\nconst f = await import('./f.js');\nconst g = require('koffi');\n// import x from './commented.js';\n/* import y from './block.js'; */\nconst s = 'import z from "./in-string.js"';`),
    ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', 'koffi']);
  assert.ok(edges.length > 300, `${edges.length} imports between files of src`);
  assert.ok(files.length > 100, `${files.length} files`);
});

test('every layer imports only the layers below it (DESIGN.md): spec and core pure, load never link or events', () => {
  const bad: string[] = [];
  for (const e of edges) {
    const a = layerOf(e.from), b = layerOf(e.to);
    if (a === b) continue;
    const allowed = ALLOWED[a];
    if (!allowed) bad.push(`${rel(e.from)}: layer '${a}' is not in this test's table`);
    else if (!allowed.includes(b)) bad.push(`${rel(e.from)} imports ${rel(e.to)} (${a} -> ${b})`);
  }
  assert.equal(bad, []);
  // the rules the DESIGN names, spelled out
  const imports = (a: string, b: string) => edges.some((e) => layerOf(e.from) === a && layerOf(e.to) === b);
  // gen reads only the pure files of load (no syscalls: it runs unprivileged, anywhere)
  const genFromLoad = edges.filter((e) => layerOf(e.from) === 'gen' && layerOf(e.to) === 'load').map((e) => rel(e.to));
  assert.equal([...new Set(genFromLoad)].sort(), ['src/load/map-codec.ts', 'src/load/values.ts']);
  for (const [a, b] of [['gen', 'sys'], ['load', 'link'], ['load', 'events'], ['core', 'sys'], ['spec', 'sys'], ['spec', 'load'], ['sys', 'elf'], ['sys', 'btf'], ['link', 'events'], ['events', 'link']]) {
    assert.not.ok(imports(a!, b!), `${a} imports ${b}`);
  }
  assert.ok(imports('load', 'sys') && imports('load', 'spec') && imports('link', 'load'), 'the table is read from real imports');
});

test('src/sys is the only user of koffi, and the pure layers start no processes, sockets or threads', () => {
  // koffi is required through createRequire (src/sys/syscall.ts): any string naming koffi or its files counts
  const names = (f: string) => /['"`]koffi(?:\/[^'"`\n]*)?['"`]/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''));
  const koffi = files.filter(names).map(rel).concat(external.filter((e) => /^koffi(\/|$)/.test(e.to)).map((e) => rel(e.from)));
  assert.ok(koffi.includes('src/sys/syscall.ts'), 'src/sys/syscall.ts loads koffi');
  assert.equal(koffi.filter((f) => !f.startsWith('src/sys/')), []);
  const impure = external.filter((e) => ['wasm', 'elf', 'btf', 'asm', 'spec', 'core', 'gen'].includes(layerOf(e.from)) && IMPURE_BUILTINS.includes(e.to.replace(/^node:/, '')));
  assert.equal(impure.map((e) => `${rel(e.from)} imports ${e.to}`), []);
});

test('no circle of imports between files of src', () => {
  const next = new Map<string, string[]>();
  for (const f of files) next.set(f, []);
  for (const e of edges) next.get(e.from)!.push(e.to);
  // Tarjan's strongly connected components
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); on.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(rel(w)); } while (w !== v);
      if (c.length > 1) circles.push(c.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  assert.equal(circles, []);
});

test.run();
