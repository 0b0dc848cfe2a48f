// Cold start: a fresh process that imports tsbpf and loads one object once, against a fresh
// libbpf process doing one bpf_object__open_file + bpf_object__load + close
// (bench/libbpf-load.c --once). What a one-shot loader (a CI check, a CLI run) pays.
//
//   node --import tsx bench/cold.ts [--runs R] [obj.bpf.o]     (default the uretprobe fixture, R = 21)
//
// Needs `npm run build` (dist/tsbpf.mjs, the package entry) and root. Medians of R runs of
// each; node's own start (`node -e 0`) is measured too and subtracted for the ratio.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildReference, die, median, root } from './common.js';

const args = process.argv.slice(2);
let runs = 21;
let obj = resolve(root, 'bpf-objs/tailcall_uretprobe.bpf.o');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else obj = resolve(args[i]!);
}
if (!(runs > 0)) die('--runs R: R > 0');
if (!existsSync(resolve(root, 'dist/tsbpf.mjs'))) die('dist/tsbpf.mjs missing: npm run build first');
if (process.getuid?.() !== 0) die('needs root (it loads the object)');
const ref = buildReference('libbpf-load');

function time(cmd: string, argv: string[]): number {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) die(`${cmd} ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

const node = process.execPath;
const rows: Array<[string, number]> = [];
// each command R times in a row, medians (drift between rows is not corrected: compare runs)
const base = time(node, ['-e', '0']);
const imp = time(node, ['--input-type=module', '-e', "await import('tsbpf')"]);
const load = time(node, ['--input-type=module', '-e', `const { Collection } = await import('tsbpf'); Collection.loadFile(${JSON.stringify(obj)}).close();`]);
const lib = time(ref, ['--once', obj]);
rows.push(['node -e 0', base], ["node: import 'tsbpf'", imp], ["node: import 'tsbpf' + loadFile + close", load], ['libbpf process: open + load + close', lib]);
console.log(`cold start, ${obj.replace(root + '/', '')}, median of ${runs} fresh processes each`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(42)} ${v.toFixed(1).padStart(7)} ms`);
const tsbpf = load - base;
console.log(`  tsbpf beyond node's own start: ${tsbpf.toFixed(1)} ms (import ${(imp - base).toFixed(1)}, first load ${(load - imp).toFixed(1)})`);
console.log(`  ratio to the libbpf process: ${(tsbpf / lib).toFixed(2)}x (goal: <= 1.00x)`);
