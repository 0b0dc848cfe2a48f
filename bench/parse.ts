/**
 * Parse benchmark: tsbpf against libbpf, measured in the same run (`npm run bench`).
 *
 * Goal (from the issue): full parse of /sys/kernel/btf/vmlinux and of each fixture at most
 * 1.0x libbpf's btf__parse / bpf_object__open.
 *
 * libbpf side: bench/libbpf-parse.c, built here with `gcc -O2 ... -lbpf` into a cache dir
 * and run as a child process before tsbpf is measured (so the two never compete for a CPU).
 * tsbpf side: in this process, each item warmed up (at least max(3, N/10) runs and 300 ms,
 * so the JIT reaches steady state), then N timed runs; the median is compared.
 *
 * Two fair pairings, each printed as a table:
 *   "with file read"  both sides read the file every iteration:
 *                     tsbpf readFileSync + Btf.parse / loadCollectionSpec(bytes)
 *                     vs libbpf btf__parse(path) / bpf_object__open_file(path)
 *   "from memory"     neither reads the file (bytes read once up front):
 *                     tsbpf Btf.parse(bytes) / loadCollectionSpec(bytes)
 *                     vs libbpf btf__new(bytes) / bpf_object__open_mem(bytes)
 * vmlinux rows: (a) lazy Btf.parse vs btf__parse, (b) Btf.parse + typeById on every id
 * (the "full parse") vs btf__parse, and vs btf__parse + a walk touching every type and
 * name (btf__type_by_id / btf__name_by_offset), which is the like-for-like pairing.
 *
 * tsbpf is measured as shipped: src/ is compiled with the project's tsc settings into a cache
 * dir and that JS is imported. (Running src/*.ts through tsx instead costs up to 2x on the
 * BTF decode: esbuild's keep-names helper `__name` redefines `.name` on every closure made in
 * a hot function.) --src measures src/*.ts through tsx anyway.
 *
 * Options: --n N (timed iterations per item; default 20 for vmlinux, 300 per object), --json, --mode file|mem|both
 * (default both), --vmlinux PATH, --only SUBSTR (items whose name contains it), and
 * object paths as positional arguments (default bpf-objs/*.bpf.o).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Tsbpf from '../src/index.js';
import { buildReference, buildTsbpf, die, median, root } from './common.js';

// ---- options ----

interface Options { n: number; nObj: number; src: boolean; json: boolean; mode: 'file' | 'mem' | 'both'; vmlinux: string; only?: string; objects: string[] }

function parseArgs(argv: string[]): Options {
  const o: Options = { n: 20, nObj: 300, src: false, json: false, mode: 'both', vmlinux: '/sys/kernel/btf/vmlinux', objects: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => { const v = argv[++i]; if (v === undefined) die(`${a} needs a value`); return v; };
    if (a === '--n' || a.startsWith('--n=')) {
      o.n = o.nObj = Number(a === '--n' ? val() : a.slice(4));
      if (!Number.isInteger(o.n) || o.n < 1) die('--n must be a positive integer');
    }
    else if (a === '--json') o.json = true;
    else if (a === '--src') o.src = true;
    else if (a === '--mode') { const m = val(); if (m !== 'file' && m !== 'mem' && m !== 'both') die('--mode is file, mem or both'); o.mode = m; }
    else if (a === '--vmlinux') o.vmlinux = val();
    else if (a === '--only') o.only = val();
    else if (a === '-h' || a === '--help') { console.log('usage: npm run bench -- [--n N] [--json] [--mode file|mem|both] [--vmlinux PATH] [--only SUBSTR] [--src] [obj.bpf.o...]'); process.exit(0); }
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else o.objects.push(a);
  }
  if (o.objects.length === 0) {
    const dir = join(root, 'bpf-objs');
    o.objects = readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).sort().map((f) => join(dir, f));
  }
  return o;
}


// ---- the libbpf reference ----

interface CResult { file: string; op: string; ok: boolean; median_us?: number; mean_us?: number; errno?: number; error?: string; message?: string }
interface CRun { libbpf: string; n: number; results: CResult[] }

function runReference(bin: string, n: number, files: string[]): CRun {
  const out = execFileSync(bin, [String(n), ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as CRun;
}

// ---- tsbpf, in process ----

let Btf: typeof Tsbpf.Btf;
let loadCollectionSpec: typeof Tsbpf.loadCollectionSpec;


let sink = 0;


interface Timing { ok: true; median_us: number; mean_us: number; n: number }
interface Failure { ok: false; error: string }

function time(n: number, fn: () => number): Timing | Failure {
  try {
    const warmMin = Math.max(3, Math.ceil(n / 10));
    const t0 = performance.now();
    for (let i = 0; i < warmMin || (performance.now() - t0 < 300 && i < 10_000); i++) sink += fn();
    const samples: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      sink += fn();
      samples[i] = (performance.now() - s) * 1000;
    }
    return { ok: true, n, median_us: median(samples), mean_us: samples.reduce((a, b) => a + b, 0) / n };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0]! };
  }
}

function decodeAll(btf: Tsbpf.Btf): number {
  let k = 0;
  for (let id = 1; id < btf.length; id++) k += btf.typeById(id).id;
  return k;
}

// ---- rows ----

interface Row {
  table: 'file' | 'mem';
  item: string;
  fixture: boolean;
  tsbpf: string; libbpf: string;
  tsbpf_us?: number; libbpf_us?: number; ratio?: number;
  note?: string;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const built = buildTsbpf(o.src);
  const mod = (await import(pathToFileURL(built.entry).href)) as typeof Tsbpf;
  Btf = mod.Btf;
  loadCollectionSpec = mod.loadCollectionSpec;
  const pick = (name: string) => !o.only || name.includes(o.only);
  const objects = o.objects.filter((f) => pick(basename(f)));
  const doVmlinux = existsSync(o.vmlinux) && pick('vmlinux');
  if (!existsSync(o.vmlinux) && !o.only) console.error(`bench: ${o.vmlinux} not found, skipping the vmlinux rows`);

  const bin = buildReference('libbpf-parse');
  const cV = doVmlinux ? runReference(bin, o.n, [o.vmlinux]) : undefined;
  const cO = objects.length > 0 ? runReference(bin, o.nObj, objects) : undefined;
  const c = { libbpf: (cV ?? cO)?.libbpf ?? '?', results: [...(cV?.results ?? []), ...(cO?.results ?? [])] };
  const cOf = (file: string, op: string) => c.results.find((r) => r.file === file && r.op === op);

  const modes: ('file' | 'mem')[] = o.mode === 'both' ? ['file', 'mem'] : [o.mode];
  const rows: Row[] = [];
  const row = (table: 'file' | 'mem', item: string, fixture: boolean, tsName: string, t: Timing | Failure, cName: string, cr: CResult | undefined) => {
    const r: Row = { table, item, fixture, tsbpf: tsName, libbpf: cName };
    if (t.ok) r.tsbpf_us = Math.round(t.median_us * 100) / 100; else r.note = `tsbpf fails: ${t.error}`;
    if (cr?.ok) r.libbpf_us = cr.median_us;
    else if (cr) r.note = (r.note ? r.note + '; ' : '') + `libbpf refuses: ${cr.message || cr.error}`;
    if (r.tsbpf_us !== undefined && r.libbpf_us !== undefined) r.ratio = Math.round((r.tsbpf_us / r.libbpf_us) * 1000) / 1000;
    rows.push(r);
  };

  if (doVmlinux) {
    const path = o.vmlinux;
    const bytes = readFileSync(path);
    for (const m of modes) {
      const get = m === 'file' ? () => readFileSync(path) : () => bytes;
      const lazy = time(o.n, () => Btf.parse(get()).length);
      const full = time(o.n, () => decodeAll(Btf.parse(get())));
      const [parse, touch] = m === 'file' ? ['btf__parse', 'btf__parse+touch'] : ['btf__new', 'btf__new+touch'];
      const read = m === 'file' ? 'read + ' : '';
      row(m, 'vmlinux: lazy parse', false, `${read}Btf.parse`, lazy, parse, cOf(path, parse));
      row(m, 'vmlinux: full parse', false, `${read}Btf.parse + typeById(all)`, full, parse, cOf(path, parse));
      row(m, 'vmlinux: full parse vs touch', false, `${read}Btf.parse + typeById(all)`, full, touch, cOf(path, touch));
    }
  }
  for (const f of objects) {
    const bytes = readFileSync(f);
    for (const m of modes) {
      // file: the path (tsbpf reads it, as bpf_object__open_file does); mem: the bytes
      const t = time(o.nObj, m === 'file' ? () => loadCollectionSpec(f).programs.size : () => loadCollectionSpec(bytes, { file: f }).programs.size);
      const op = m === 'file' ? 'bpf_object__open_file' : 'bpf_object__open_mem';
      row(m, basename(f), true, m === 'file' ? 'loadCollectionSpec(path)' : 'loadCollectionSpec(bytes)', t, op, cOf(f, op));
    }
  }

  const geomean = (table: 'file' | 'mem') => {
    const rs = rows.filter((r) => r.table === table && r.fixture && r.ratio !== undefined);
    if (rs.length === 0) return undefined;
    return { ratio: Math.exp(rs.reduce((a, r) => a + Math.log(r.ratio!), 0) / rs.length), over: rs.length };
  };

  const meta = { node: process.version, tsbpf: built.how, libbpf: c.libbpf, n: o.n, nObj: o.nObj, platform: `${process.platform}-${process.arch}` };
  if (o.json) {
    console.log(JSON.stringify({ ...meta, rows, geomean: Object.fromEntries(modes.map((m) => [m, geomean(m) ?? null])), libbpfRaw: c.results }, null, 2));
    return;
  }
  const fmt = (us: number | undefined) => us === undefined ? '-' : us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`;
  console.log(`tsbpf parse benchmark: node ${meta.node}, libbpf ${meta.libbpf}, N=${o.n} for vmlinux, ${o.nObj} per object (median of N after warm-up), ${meta.platform}`);
  console.log(`tsbpf code measured: ${meta.tsbpf}`);
  for (const m of modes) {
    const rs = rows.filter((r) => r.table === m);
    console.log('');
    console.log(m === 'file'
      ? 'With file read on both sides: tsbpf readFileSync + parse  vs  libbpf btf__parse(path) / bpf_object__open_file(path)'
      : 'From memory on both sides (no file read): tsbpf parse(bytes)  vs  libbpf btf__new(bytes) / bpf_object__open_mem(bytes)');
    const table = rs.map((r) => [
      r.item, fmt(r.tsbpf_us),
      r.libbpf_us === undefined ? (r.note?.includes('libbpf refuses') ? 'refuses' : '-') : fmt(r.libbpf_us),
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : r.note?.includes('libbpf refuses') ? 'libbpf refuses' : r.note ? 'n/a' : '-',
      `${r.tsbpf} / ${r.libbpf}`,
    ]);
    const head = ['item', 'tsbpf median', 'libbpf median', 'ratio', 'tsbpf op / libbpf op'];
    const w = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
    console.log(line(head));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const t of table) console.log(line(t));
    for (const r of rs) if (r.note && !r.note.startsWith('libbpf refuses')) console.log(`  note: ${r.item}: ${r.note}`);
    for (const r of rs) if (r.note?.startsWith('libbpf refuses')) console.log(`  ${r.item}: ${r.note}`);
    const g = geomean(m);
    console.log(g ? `geometric mean ratio over ${g.over} fixture${g.over === 1 ? '' : 's'}: ${g.ratio.toFixed(2)}x (goal: <= 1.00x)` : 'geometric mean ratio over fixtures: n/a');
  }
  if (sink === -1) console.log(''); // keep results alive
}

await main();
