/**
 * Parse benchmark: tsbpf against libbpf, measured in the same run (`npm run bench`).
 *
 * Goal (from the issue): full parse of /sys/kernel/btf/vmlinux and of each fixture at most
 * 1.0x libbpf's btf__parse / bpf_object__open.
 *
 * libbpf side: bench/libbpf-parse.c, built here with `gcc -O2 ... -lbpf` into a cache dir
 * and run as a child process (never at the same time as tsbpf, so the two never compete
 * for a CPU). tsbpf side: in this process, each item warmed up (the first round at least
 * max(3, N/10) runs and 300 ms, so the JIT reaches steady state), then timed.
 * The two sides alternate in R rounds (--rounds, default 3: libbpf, tsbpf, libbpf, ...),
 * each round timing N/R iterations per item; each side's figure is the median of its round
 * medians, so that a slow stretch of this shared machine hits both sides alike. The load
 * average at the end is printed with the figures.
 *
 * Two fair pairings, each printed as a table:
 *   "with file read"  both sides read the file every iteration:
 *                     tsbpf readFileSync + Btf.parse / loadCollectionSpec(bytes)
 *                     vs libbpf btf__parse(path) / bpf_object__open_file(path)
 *   "from memory"     neither reads the file (bytes read once up front):
 *                     tsbpf Btf.parse(bytes) / loadCollectionSpec(bytes)
 *                     vs libbpf btf__new(bytes) / bpf_object__open_mem(bytes)
 * vmlinux rows: (a) Btf.parseFile / Btf.parse vs btf__parse / btf__new; (b) the same plus
 * the first lookup through the public API, typeByName('task_struct', 'struct'), vs
 * btf__find_by_name_kind (a scan in libbpf); (c) decoding every type into objects
 * (typeById on every id) vs libbpf's parse + a walk touching every type and name.
 *
 * tsbpf is measured as shipped: dist/tsbpf.mjs as `npm run build` makes it (buildTsbpf in
 * bench/common.ts, shared by every benchmark) is imported. (Running src/*.ts through tsx
 * instead costs up to 2x on the BTF decode: esbuild's keep-names helper `__name` redefines `.name` on every closure made in
 * a hot function.) --src measures src/*.ts through tsx anyway.
 *
 * Options: --n N (timed iterations per item; default 20 for vmlinux, 300 per object), --json, --mode file|mem|both
 * (default both), --vmlinux PATH, --only SUBSTR (items whose name contains it), --vs DIR
 * (another built checkout, e.g. `git worktree add --detach DIR main && (cd DIR && npm ci &&
 * npm run build)`: its dist/tsbpf.mjs is imported too and timed in the same rounds, item by
 * item, the two taking turns going first; the tables get its median and this/that ratio, for A/B
 * comparisons on a shared machine), and object paths as positional arguments (default
 * bpf-objs/*.bpf.o).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type * as Tsbpf from '../src/index.js';
import { buildReference, buildTsbpf, die, median, root } from './common.js';

// ---- options ----

interface Options { n: number; nObj: number; rounds: number; src: boolean; json: boolean; mode: 'file' | 'mem' | 'both'; vmlinux: string; only?: string; vs?: string; objects: string[] }

function parseArgs(argv: string[]): Options {
  const o: Options = { n: 30, nObj: 300, rounds: 3, src: false, json: false, mode: 'both', vmlinux: '/sys/kernel/btf/vmlinux', objects: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => { const v = argv[++i]; if (v === undefined) die(`${a} needs a value`); return v; };
    if (a === '--n' || a.startsWith('--n=')) {
      o.n = o.nObj = Number(a === '--n' ? val() : a.slice(4));
      if (!Number.isInteger(o.n) || o.n < 1) die('--n must be a positive integer');
    }
    else if (a === '--rounds') { o.rounds = Number(val()); if (!Number.isInteger(o.rounds) || o.rounds < 1) die('--rounds must be a positive integer'); }
    else if (a === '--json') o.json = true;
    else if (a === '--src') o.src = true;
    else if (a === '--mode') { const m = val(); if (m !== 'file' && m !== 'mem' && m !== 'both') die('--mode is file, mem or both'); o.mode = m; }
    else if (a === '--vmlinux') o.vmlinux = val();
    else if (a === '--only') o.only = val();
    else if (a === '--vs') { o.vs = val(); if (!existsSync(join(o.vs, 'dist', 'tsbpf.mjs'))) die(`--vs ${o.vs}: no dist/tsbpf.mjs there (npm run build in it first)`); }
    else if (a === '-h' || a === '--help') { console.log('usage: npm run bench -- [--n N] [--rounds R] [--json] [--mode file|mem|both] [--vmlinux PATH] [--only SUBSTR] [--vs DIR] [--src] [obj.bpf.o...]'); process.exit(0); }
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

type Api = Pick<typeof Tsbpf, 'Btf' | 'loadCollectionSpec'>;


let sink = 0;


interface Timing { ok: true; median_us: number; mean_us: number; n: number }
interface Failure { ok: false; error: string }

function time(n: number, fn: () => number, first = true): Timing | Failure {
  try {
    const warmMin = Math.max(3, Math.ceil(n / 10));
    const t0 = performance.now();
    for (let i = 0; i < warmMin || (first && performance.now() - t0 < 300 && i < 10_000); i++) sink += fn();
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

/**
 * Every type decoded into objects through the public API, and every name in it read, as
 * libbpf-parse.c's touch_all reads every type's, member's, parameter's and enumerator's
 * name (and each member's type and offset, each datasec entry).
 */
function decodeAll(btf: Tsbpf.Btf): number {
  let k = 0;
  for (let id = 1; id < btf.length; id++) {
    const t = btf.typeById(id);
    k += t.id + t.name.length;
    switch (t.kind) {
      case 'struct': case 'union': for (const m of t.members) k += m.name.length + m.type + m.bitOffset; break;
      case 'enum': for (const v of t.values) k += v.name.length + v.value; break;
      case 'enum64': for (const v of t.values) k += v.name.length + Number(v.value & 0xffn); break;
      case 'func_proto': for (const p of t.params) k += p.name.length + p.type; break;
      case 'datasec': for (const v of t.vars) k += v.type + v.offset + v.size; break;
    }
  }
  return k;
}

// ---- rows ----

interface Row {
  table: 'file' | 'mem';
  item: string;
  fixture: boolean;
  tsbpf: string; libbpf: string;
  tsbpf_us?: number; libbpf_us?: number; ratio?: number;
  /** --vs: the other checkout's median and this checkout's time over it */
  vs_us?: number; vs_ratio?: number;
  note?: string;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const built = buildTsbpf(o.src);
  const mod = (await import(pathToFileURL(built.entry).href)) as Api;
  const other = o.vs === undefined ? undefined : (await import(pathToFileURL(join(o.vs, 'dist', 'tsbpf.mjs')).href)) as Api;
  const pick = (name: string) => !o.only || name.includes(o.only);
  const objects = o.objects.filter((f) => pick(basename(f)));
  const doVmlinux = existsSync(o.vmlinux) && pick('vmlinux');
  if (!existsSync(o.vmlinux) && !o.only) console.error(`bench: ${o.vmlinux} not found, skipping the vmlinux rows`);

  const bin = buildReference('libbpf-parse');
  const modes: ('file' | 'mem')[] = o.mode === 'both' ? ['file', 'mem'] : [o.mode];
  // What is timed, per item: tsbpf's operation and libbpf's op name in bench/libbpf-parse.c.
  interface Item { table: 'file' | 'mem'; item: string; fixture: boolean; file: string; tsName: string; fn: () => number; vsFn?: () => number; n: number; op: string }
  // each item's operation made for this checkout's API and, with --vs, for the other's
  const both = (make: (api: Api) => () => number) => ({ fn: make(mod), ...(other ? { vsFn: make(other) } : {}) });
  const items: Item[] = [];
  if (doVmlinux) {
    const path = o.vmlinux;
    const bytes = readFileSync(path);
    for (const m of modes) {
      const file = m === 'file';
      const parser = ({ Btf }: Api) => file ? () => Btf.parseFile(path) : () => Btf.parse(bytes);
      const how = file ? 'Btf.parseFile(path)' : 'Btf.parse(bytes)';
      const lib = file ? 'btf__parse' : 'btf__new';
      items.push({ table: m, item: 'vmlinux: parse', fixture: false, file: path, tsName: how, ...both((api) => { const parse = parser(api); return () => parse().length; }), n: o.n, op: lib });
      items.push({ table: m, item: 'vmlinux: parse + first lookup', fixture: false, file: path, tsName: `${how} + typeByName('task_struct', 'struct')`, ...both((api) => { const parse = parser(api); return () => parse().typeByName('task_struct', 'struct')!.id; }), n: o.n, op: `${lib}+find` });
      items.push({ table: m, item: 'vmlinux: decode every type', fixture: false, file: path, tsName: `${how} + typeById(every id), every name read`, ...both((api) => { const parse = parser(api); return () => decodeAll(parse()); }), n: o.n, op: `${lib}+touch` });
    }
  }
  for (const f of objects) {
    const bytes = readFileSync(f);
    for (const m of modes) {
      // file: the path (tsbpf reads it, as bpf_object__open_file does); mem: the bytes
      items.push({
        table: m, item: basename(f), fixture: true, file: f, n: o.nObj,
        tsName: m === 'file' ? 'loadCollectionSpec(path)' : 'loadCollectionSpec(bytes)',
        ...both(({ loadCollectionSpec }) => m === 'file' ? () => loadCollectionSpec(f).programs.size : () => loadCollectionSpec(bytes, { file: f }).programs.size),
        op: m === 'file' ? 'bpf_object__open_file' : 'bpf_object__open_mem',
      });
    }
  }

  // Rounds: libbpf (a child process), then tsbpf (in process), then again; each side's
  // figure is the median of its round medians, so that a slow stretch of the machine hits
  // both sides instead of one.
  const lb = new Map<string, number[]>(), ts = new Map<Item, number[]>(), vs = new Map<Item, number[]>();
  const lbFail = new Map<string, CResult>(), tsFail = new Map<Item, Failure>();
  let libbpfVersion = '?';
  const libbpfRaw: CResult[][] = [];
  const per = (n: number) => Math.max(3, Math.ceil(n / o.rounds));
  for (let r = 0; r < o.rounds; r++) {
    const runs: CRun[] = [];
    if (doVmlinux) runs.push(runReference(bin, per(o.n), [o.vmlinux]));
    if (objects.length > 0) runs.push(runReference(bin, per(o.nObj), objects));
    libbpfRaw.push(runs.flatMap((c) => c.results));
    for (const c of runs) {
      libbpfVersion = c.libbpf;
      for (const cr of c.results) {
        const k = `${cr.file}\0${cr.op}`;
        if (!cr.ok) { lbFail.set(k, cr); continue; }
        lb.set(k, [...(lb.get(k) ?? []), cr.median_us!]);
      }
    }
    for (const it of items) {
      if (tsFail.has(it)) continue;
      // with --vs, the two checkouts take turns going first (the second pays the first's GC debt)
      const vsFirst = it.vsFn !== undefined && r % 2 === 1;
      const v = vsFirst ? time(per(it.n), it.vsFn!, r === 0) : undefined;
      const t = time(per(it.n), it.fn, r === 0);
      if (!t.ok) { tsFail.set(it, t); continue; }
      ts.set(it, [...(ts.get(it) ?? []), t.median_us]);
      if (!it.vsFn) continue;
      const v2 = v ?? time(per(it.n), it.vsFn, r === 0);
      if (v2.ok) vs.set(it, [...(vs.get(it) ?? []), v2.median_us]);
    }
  }
  const c = { libbpf: libbpfVersion };
  const rows: Row[] = [];
  for (const it of items) {
    const r: Row = { table: it.table, item: it.item, fixture: it.fixture, tsbpf: it.tsName, libbpf: it.op };
    const t = ts.get(it), l = lb.get(`${it.file}\0${it.op}`), lf = lbFail.get(`${it.file}\0${it.op}`);
    if (t) r.tsbpf_us = Math.round(median(t) * 100) / 100; else r.note = `tsbpf fails: ${tsFail.get(it)?.error}`;
    if (l) r.libbpf_us = Math.round(median(l) * 100) / 100;
    else if (lf) r.note = (r.note ? r.note + '; ' : '') + `libbpf refuses: ${lf.message || lf.error}`;
    if (r.tsbpf_us !== undefined && r.libbpf_us !== undefined) r.ratio = Math.round((r.tsbpf_us / r.libbpf_us) * 1000) / 1000;
    const v = vs.get(it);
    if (v && r.tsbpf_us !== undefined) {
      r.vs_us = Math.round(median(v) * 100) / 100;
      r.vs_ratio = Math.round((r.tsbpf_us / r.vs_us) * 1000) / 1000;
    }
    rows.push(r);
  }

  const geomean = (table: 'file' | 'mem', key: 'ratio' | 'vs_ratio' = 'ratio') => {
    // the fixtures with a ratio to libbpf (so that --vs's geomean is over the same ones)
    const rs = rows.filter((r) => r.table === table && r.fixture && r.ratio !== undefined && r[key] !== undefined);
    if (rs.length === 0) return undefined;
    return { ratio: Math.exp(rs.reduce((a, r) => a + Math.log(r[key]!), 0) / rs.length), over: rs.length };
  };

  const meta = { node: process.version, tsbpf: built.how, ...(o.vs ? { vs: o.vs } : {}), libbpf: c.libbpf, n: o.n, nObj: o.nObj, rounds: o.rounds, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), platform: `${process.platform}-${process.arch}` };
  if (o.json) {
    console.log(JSON.stringify({
      ...meta, rows, geomean: Object.fromEntries(modes.map((m) => [m, geomean(m) ?? null])),
      ...(o.vs ? { geomeanVs: Object.fromEntries(modes.map((m) => [m, geomean(m, 'vs_ratio') ?? null])) } : {}), libbpfRaw,
    }, null, 2));
    return;
  }
  const fmt = (us: number | undefined) => us === undefined ? '-' : us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`;
  console.log(`tsbpf parse benchmark: node ${meta.node}, libbpf ${meta.libbpf}, N=${o.n} for vmlinux, ${o.nObj} per object in ${o.rounds} alternating rounds (median of the round medians), ${meta.platform}, load average ${meta.loadavg.join(' ')}`);
  console.log(`tsbpf code measured: ${meta.tsbpf}${o.vs ? `; --vs: ${join(o.vs, 'dist', 'tsbpf.mjs')}, timed in the same rounds, taking turns going first` : ''}`);
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
      ...(o.vs ? [fmt(r.vs_us), r.vs_ratio !== undefined ? `${r.vs_ratio.toFixed(2)}x` : '-'] : []),
      `${r.tsbpf} / ${r.libbpf}`,
    ]);
    const head = ['item', 'tsbpf median', 'libbpf median', 'ratio', ...(o.vs ? ['--vs median', 'this / vs'] : []), 'tsbpf op / libbpf op'];
    const w = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const last = head.length - 1;
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === last ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
    console.log(line(head));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const t of table) console.log(line(t));
    for (const r of rs) if (r.note && !r.note.startsWith('libbpf refuses')) console.log(`  note: ${r.item}: ${r.note}`);
    for (const r of rs) if (r.note?.startsWith('libbpf refuses')) console.log(`  ${r.item}: ${r.note}`);
    const g = geomean(m);
    console.log(g ? `geometric mean ratio over ${g.over} fixture${g.over === 1 ? '' : 's'}: ${g.ratio.toFixed(2)}x (goal: <= 1.00x)` : 'geometric mean ratio over fixtures: n/a');
    const gv = o.vs ? geomean(m, 'vs_ratio') : undefined;
    if (gv) console.log(`--vs ${o.vs}: the same fixtures' geometric mean of this / vs: ${gv.ratio.toFixed(2)}x over ${gv.over}; geomean against libbpf of --vs: ${(g!.ratio / gv.ratio).toFixed(2)}x`);
  }
  if (sink === -1) console.log(''); // keep results alive
}

await main();
