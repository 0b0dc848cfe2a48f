/**
 * Load benchmark: tsbpf against libbpf, measured in the same run (issue 3, "Benchmark").
 *
 *   node --import tsx bench/load.ts [--n N] [--rounds R] [--json] [--src] [--tsbpf-only] [--vs DIR] [obj.bpf.o...]
 *
 * Goal: loading the uretprobe tail-call fixture (default object
 * bpf-objs/tailcall_uretprobe.bpf.o) in process at most 1.0x libbpf's
 * bpf_object__open_file + bpf_object__load (+ bpf_object__close).
 *
 * One iteration, on both sides, is open + load + close of the same object file:
 *   tsbpf   loadCollectionSpec(path)  ->  Collection.load(spec)  ->  collection.close()
 *   libbpf  bpf_object__open_file     ->  bpf_object__load       ->  bpf_object__close
 * (Collection.loadFile(path) is exactly loadCollectionSpec + Collection.load; the two calls
 * are made separately here so the phases can be timed: "open" = read + parse, "load" =
 * everything that talks to the kernel, "close" = closing the fds.)
 *
 * libbpf side: bench/libbpf-load.c, built with `gcc -O2 ... -lbpf` into
 * node_modules/.cache/tsbpf-bench/ (as bench/parse.ts builds its reference) and run as a
 * child process, so the two never compete for a CPU. The kernel's work (verifier, JIT,
 * RCU-deferred frees after close) dominates and drifts over a run, so the two sides are
 * interleaved: R rounds (default 3) of [libbpf N/R iterations, tsbpf N/R iterations], each
 * after its own warm-up, and the medians are taken over the pooled samples.
 *
 * Fairness: after timing, one more load on each side is inspected with
 * BPF_OBJ_GET_INFO_BY_FD and compared per program (xlated length, verified_insns,
 * nr_func_info, nr_line_info, BTF attached) and per object (BTF loaded, number of maps),
 * so "same object, same kernel features" is checked, not assumed. Differences are printed.
 *
 * tsbpf is measured as shipped: dist/ as `npm run build` makes it (buildTsbpf in
 * bench/common.ts, shared by every benchmark; here dist/index.js and its modules, to share
 * src/sys's instances); --src measures src/*.ts through tsx instead.
 *
 * --vs DIR: another built checkout (DIR/dist/index.js, DIR/dist/sys/index.js) timed in the same
 * rounds, the two builds taking turns going first; a second table gives this/vs per object.
 *
 * Where the time goes: user / system CPU per iteration on both sides (getrusage,
 * process.cpuUsage; node's is process-wide, so GC and compiler threads count too), and for a
 * function-level view:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/load.ts --tsbpf-only
 *   node --import tsx bench/cpuprofile-top.ts /tmp/prof/*.cpuprofile
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename, dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Tsbpf from '../src/index.js';
import type * as Sys from '../src/sys/index.js';
import { buildReference, buildTsbpf, die, median, root } from './common.js';

// ---- options ----

interface Options { n: number; rounds: number; src: boolean; json: boolean; tsbpfOnly: boolean; profile?: string; vs?: string; objects: string[] }

function parseArgs(argv: string[]): Options {
  const o: Options = { n: 300, rounds: 3, src: false, json: false, tsbpfOnly: false, objects: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (name: string) => {
      const v = Number(a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]);
      if (!Number.isInteger(v) || v < 1) die(`${name} must be a positive integer`);
      return v;
    };
    if (a === '--n' || a.startsWith('--n=')) o.n = num('--n');
    else if (a === '--rounds' || a.startsWith('--rounds=')) o.rounds = num('--rounds');
    else if (a === '--json') o.json = true;
    else if (a === '--src') o.src = true;
    else if (a === '--tsbpf-only') o.tsbpfOnly = true;
    else if (a === '--all') o.objects.push(...readdirSync(join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort().map((f) => join(root, 'bpf-objs', f)));
    else if (a === '--profile') { const v = argv[++i]; if (!v) die('--profile needs a file'); o.profile = v; o.tsbpfOnly = true; }
    else if (a === '--vs') {
      const v = argv[++i];
      if (!v || !existsSync(join(v, 'dist', 'index.js')) || !existsSync(join(v, 'dist', 'sys', 'index.js'))) die(`--vs ${v ?? ''}: no dist/index.js and dist/sys/index.js there (npm run build in it first)`);
      o.vs = v;
    }
    else if (a === '-h' || a === '--help') {
      console.log('usage: node --import tsx bench/load.ts [--n N] [--rounds R] [--json] [--src] [--tsbpf-only] [--profile FILE.cpuprofile] [--vs DIR] [--all | obj.bpf.o...]');
      process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option ${a}`);
    else o.objects.push(a);
  }
  if (o.objects.length === 0) o.objects = [join(root, 'bpf-objs', 'tailcall_uretprobe.bpf.o')];
  for (const f of o.objects) if (!existsSync(f)) die(`${f}: no such file`);
  o.rounds = Math.min(o.rounds, o.n);
  return o;
}

// ---- the libbpf reference (built by buildReference in bench/common.ts) ----

interface Stat { median_us: number; mean_us: number; min_us: number; max_us: number }
interface KernelProg { name: string; xlated: number; jited: number; verified_insns: number; nr_func_info: number; nr_line_info: number; btf: boolean }
interface KernelView { btf_fd: boolean; maps: number; programs: KernelProg[] }
interface CResult {
  file: string; ok: boolean; n?: number;
  stage?: string; errno?: number; error?: string; message?: string;
  user_us_per_iter?: number; sys_us_per_iter?: number;
  total_samples_us?: number[]; open_samples_us?: number[]; load_samples_us?: number[]; close_samples_us?: number[];
  load_bpf_samples_us?: number[]; bpf_calls?: number;
  total?: Stat; kernel?: KernelView | null;
}
interface CRun { libbpf: string; n: number; results: CResult[] }

function runReference(bin: string, n: number, warm: number, files: string[]): CRun {
  const out = execFileSync(bin, ['--samples', '--warm', String(warm), String(n), ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as CRun;
}

// ---- tsbpf, in process ----

function stat(xs: number[]): Stat {
  return { median_us: median(xs), mean_us: xs.reduce((a, b) => a + b, 0) / xs.length, min_us: Math.min(...xs), max_us: Math.max(...xs) };
}

interface Samples { total: number[]; open: number[]; load: number[]; close: number[]; bpf: number[]; calls: number; userUs: number; sysUs: number; iters: number }
const emptySamples = (): Samples => ({ total: [], open: [], load: [], close: [], bpf: [], calls: 0, userUs: 0, sysUs: 0, iters: 0 });

/** --profile: V8 CPU profile of the timed tsbpf iterations only (warm-up and setup left out). */
let profiler: Session | undefined;
const profiles: object[] = [];

/** A tsbpf build to time: its package entry and its src/sys (for bpfClock and progInfo). */
interface Impl { mod: typeof Tsbpf; sys: typeof Sys }
let mod: typeof Tsbpf;
let sys: typeof Sys;
/** This checkout's build (`mod`, `sys`), and with --vs the other checkout's. */
let self: Impl;
let vsImpl: Impl | undefined;

/**
 * Iterations redone because BPF_PROG_LOAD returned EAGAIN: the verifier gives up with EAGAIN
 * when a signal is pending (the SIGPROF of --cpu-prof / --profile does that), and libbpf
 * retries such loads (up to 5 times) where tsbpf, for now, reports a verifier rejection.
 */
let eagainRetries = 0;

function tsbpfOnce(file: string, into?: Samples, impl: Impl = self): void {
  for (let attempt = 0; ; attempt++) {
    try { return tsbpfOnceRaw(file, into, impl); } catch (e) {
      if (attempt < 20 && /\(EAGAIN\)/.test((e as Error).message)) { eagainRetries++; continue; }
      throw e;
    }
  }
}

function tsbpfOnceRaw(file: string, into: Samples | undefined, { mod, sys }: Impl): void {
  const t0 = performance.now();
  const spec = mod.loadCollectionSpec(file);
  const t1 = performance.now();
  const k0 = sys.bpfClock();
  const c = mod.Collection.load(spec);
  const t2 = performance.now();
  c.close();
  const t3 = performance.now();
  // bpf(2) during load and close: closing a registered struct_ops map is a BPF_MAP_DELETE_ELEM
  // that waits for the kernel to unregister it (~11 ms), which is not user space
  const k1 = sys.bpfClock();
  if (into) {
    into.open.push((t1 - t0) * 1000);
    into.load.push((t2 - t1) * 1000);
    into.close.push((t3 - t2) * 1000);
    into.total.push((t3 - t0) * 1000);
    into.bpf.push(Number(k1.ns - k0.ns) / 1000);
    into.calls = k1.calls - k0.calls;
  }
}

/** Warm-up (at least `warm` runs and 300 ms on the first round, so the JIT settles), then n timed runs. */
function timeTsbpf(file: string, n: number, warm: number, first: boolean, into: Samples, impl: Impl = self): void {
  const w0 = performance.now();
  for (let i = 0; i < warm || (first && performance.now() - w0 < 300 && i < 10_000); i++) tsbpfOnce(file, undefined, impl);
  if (impl === self) profiler?.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  try {
    for (let i = 0; i < n; i++) tsbpfOnce(file, into, impl);
  } finally {
    if (impl === self) profiler?.post('Profiler.stop', (err, r) => { if (!err) profiles.push(r.profile); });
  }
  const cpu = process.cpuUsage(cpu0);
  into.userUs += cpu.user;
  into.sysUs += cpu.system;
  into.iters += n;
}

function tsbpfKernelView(file: string): KernelView & { btfChanges: string[] } {
  const c = mod.Collection.loadFile(file);
  try {
    const programs: KernelProg[] = [];
    for (const p of c.programs.values()) {
      const i = sys.progInfo(p.fd);
      programs.push({ name: p.name, xlated: i.xlatedProgLen, jited: i.jitedProgLen, verified_insns: i.verifiedInsns, nr_func_info: i.nrFuncInfo, nr_line_info: i.nrLineInfo, btf: i.btfId !== 0 });
    }
    return { btf_fd: c.btfFd !== undefined, maps: c.maps.size, programs, btfChanges: c.btfChanges };
  } finally { c.close(); }
}

/** Differences between what the kernel got from libbpf and from tsbpf. */
function compareKernel(l: KernelView | null | undefined, t: KernelView | undefined): string[] {
  if (!l || !t) return [];
  const d: string[] = [];
  if (l.btf_fd !== t.btf_fd) d.push(`object BTF loaded: libbpf ${l.btf_fd}, tsbpf ${t.btf_fd}`);
  if (l.maps !== t.maps) d.push(`maps: libbpf ${l.maps}, tsbpf ${t.maps}`);
  const names = new Set([...l.programs.map((p) => p.name), ...t.programs.map((p) => p.name)]);
  for (const n of names) {
    const a = l.programs.find((p) => p.name === n);
    const b = t.programs.find((p) => p.name === n);
    if (!a || !b) { d.push(`program ${n}: loaded by ${a ? 'libbpf' : 'tsbpf'} only`); continue; }
    for (const k of ['xlated', 'verified_insns', 'nr_func_info', 'nr_line_info', 'btf'] as const) {
      if (a[k] !== b[k]) d.push(`program ${n}: ${k} libbpf ${a[k]}, tsbpf ${b[k]}`);
    }
  }
  return d;
}

// ---- main ----

/** One side's figures for an object. `load_bpf`: time inside bpf(2) during load and close; `overhead`: total minus that. */
interface Side {
  total: Stat; open: Stat; load: Stat; close: Stat; load_bpf: Stat; bpf_calls: number; overhead: Stat;
  user_us_per_iter: number; sys_us_per_iter: number; n: number;
}

interface ObjResult {
  file: string;
  tsbpf?: Side;
  libbpf?: Side;
  /** --vs: the other build, timed in the same rounds. */
  vs?: Side;
  ratio?: number;
  tsbpfError?: string; libbpfError?: string; vsError?: string;
  kernel?: { libbpf?: KernelView | null; tsbpf?: KernelView; btfChanges?: string[]; differences: string[] };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const built = buildTsbpf(o.src, 'modules');
  mod = (await import(pathToFileURL(built.entry).href)) as typeof Tsbpf;
  sys = (await import(pathToFileURL(join(dirname(built.entry), 'sys', `index${extname(built.entry)}`)).href)) as typeof Sys;
  const bin = o.tsbpfOnly ? undefined : buildReference('libbpf-load');
  sys.bpfClock(true); // time inside bpf(2) at tsbpf's chokepoint (libbpf-load.c does the same for libbpf)
  self = { mod, sys };
  if (o.vs) {
    // another built checkout, timed in the same rounds (its own module instances and clock)
    vsImpl = {
      mod: (await import(pathToFileURL(join(o.vs, 'dist', 'index.js')).href)) as typeof Tsbpf,
      sys: (await import(pathToFileURL(join(o.vs, 'dist', 'sys', 'index.js')).href)) as typeof Sys,
    };
    vsImpl.sys.bpfClock(true);
  }
  if (o.profile) {
    o.rounds = 1; // one profile per object
    profiler = new Session();
    profiler.connect();
    profiler.post('Profiler.enable');
    profiler.post('Profiler.setSamplingInterval', { interval: 1000 });
  }

  const files = o.objects;
  const ts = new Map(files.map((f) => [f, emptySamples()]));
  const vs = new Map(files.map((f) => [f, emptySamples()]));
  const lb = new Map(files.map((f) => [f, emptySamples()]));
  const tsErr = new Map<string, string>();
  /** --vs: objects the other build cannot load (no comparison for them). */
  const vsErr = new Map<string, string>();
  const lbErr = new Map<string, string>();
  const lbKernel = new Map<string, KernelView | null>();
  let libbpfVersion = '?';

  // which objects tsbpf can load at all (CO-RE, kfuncs, ... may not be supported yet)
  for (const f of files) {
    try { tsbpfOnce(f); } catch (e) { tsErr.set(f, (e as Error).message.split('\n')[0]!); }
    if (vsImpl) try { tsbpfOnce(f, undefined, vsImpl); } catch (e) { vsErr.set(f, (e as Error).message.split('\n')[0]!); }
  }

  for (let r = 0; r < o.rounds; r++) {
    const n = Math.floor(o.n / o.rounds) + (r < o.n % o.rounds ? 1 : 0);
    const warm = Math.max(3, Math.ceil(n / 10));
    if (bin) {
      const c = runReference(bin, n, warm, files);
      libbpfVersion = c.libbpf;
      for (const cr of c.results) {
        if (!cr.ok) { lbErr.set(cr.file, `${cr.stage}: ${cr.message || cr.error}`); continue; }
        const s = lb.get(cr.file)!;
        s.total.push(...cr.total_samples_us!); s.open.push(...cr.open_samples_us!);
        s.load.push(...cr.load_samples_us!); s.close.push(...cr.close_samples_us!);
        s.bpf.push(...cr.load_bpf_samples_us!); s.calls = cr.bpf_calls!;
        s.userUs += cr.user_us_per_iter! * cr.n!; s.sysUs += cr.sys_us_per_iter! * cr.n!; s.iters += cr.n!;
        lbKernel.set(cr.file, cr.kernel ?? null);
      }
    }
    for (const f of files) {
      if (tsErr.has(f)) continue;
      // with --vs the two builds take turns going first (the second pays the first's GC debt)
      const sides: Array<[Impl, Samples]> = vsImpl && !vsErr.has(f) ? [[self, ts.get(f)!], [vsImpl, vs.get(f)!]] : [[self, ts.get(f)!]];
      if (r % 2 === 1) sides.reverse();
      for (const [impl, into] of sides) {
        try { timeTsbpf(f, n, warm, r === 0, into, impl); } catch (e) {
          const why = (e as Error).message.split('\n')[0]!;
          if (impl === self) { tsErr.set(f, why); break; }
          vsErr.set(f, why); // the other build failed: no comparison for this object, this build still timed
        }
      }
    }
  }

  if (o.profile) {
    const out: string[] = [];
    profiles.forEach((p, i) => {
      const f = files.length === 1 ? o.profile! : o.profile!.replace(/(\.cpuprofile)?$/, `.${basename(files[i]!, '.bpf.o')}.cpuprofile`);
      writeFileSync(f, JSON.stringify(p));
      out.push(f);
    });
    console.error(`bench: CPU profile of the timed tsbpf iterations: ${out.join(' ')} (summarise: node --import tsx bench/cpuprofile-top.ts FILE)`);
  }

  const summarize = (s: Samples): Side => ({
    total: stat(s.total), open: stat(s.open), load: stat(s.load), close: stat(s.close),
    load_bpf: stat(s.bpf), bpf_calls: s.calls,
    // user-space time of the whole cycle: each iteration's total minus its time inside bpf(2)
    overhead: stat(s.total.map((t, i) => t - s.bpf[i]!)),
    user_us_per_iter: s.userUs / s.iters, sys_us_per_iter: s.sysUs / s.iters, n: s.iters,
  });
  const results: ObjResult[] = files.map((f) => {
    const r: ObjResult = { file: f };
    const t = ts.get(f)!, l = lb.get(f)!;
    if (tsErr.has(f)) r.tsbpfError = tsErr.get(f)!; else r.tsbpf = summarize(t);
    if (lbErr.has(f)) r.libbpfError = lbErr.get(f)!; else if (l.iters) r.libbpf = summarize(l);
    if (r.tsbpf && r.libbpf) r.ratio = r.tsbpf.total.median_us / r.libbpf.total.median_us;
    if (r.tsbpf && !vsErr.has(f) && vs.get(f)!.iters) r.vs = summarize(vs.get(f)!);
    if (vsErr.has(f)) r.vsError = vsErr.get(f)!;
    if (!r.tsbpfError) {
      const tk = tsbpfKernelView(f);
      const { btfChanges, ...view } = tk;
      r.kernel = { libbpf: lbKernel.get(f), tsbpf: view, btfChanges, differences: compareKernel(lbKernel.get(f), view) };
    }
    return r;
  });

  const meta = { eagainRetries, node: process.version, tsbpf: built.how, ...(o.vs ? { vs: o.vs } : {}), libbpf: libbpfVersion, kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(), n: o.n, rounds: o.rounds, platform: `${process.platform}-${process.arch}` };
  if (o.json) {
    console.log(JSON.stringify({ ...meta, results }, null, 2));
    return;
  }

  const fmt = (us: number | undefined) => us === undefined ? '-' : us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`;
  const rat = (a?: number, b?: number) => a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-';
  console.log(`tsbpf load benchmark: node ${meta.node}, libbpf ${meta.libbpf}, kernel ${meta.kernel}, ${meta.platform}`);
  console.log(`N=${o.n} open+load+close iterations per object and side, in ${o.rounds} interleaved rounds (libbpf, tsbpf, ...); medians over all samples`);
  console.log(`tsbpf code measured: ${meta.tsbpf}${o.vs ? `; --vs: ${join(o.vs, 'dist')}, timed in the same rounds, taking turns going first` : ''}`);
  if (eagainRetries) console.log(`tsbpf iterations redone after EAGAIN from BPF_PROG_LOAD (signal during verification): ${eagainRetries}`);
  console.log('');
  const head = ['object', 'phase', 'tsbpf median', 'libbpf median', 'ratio'];
  const rows: string[][] = [];
  for (const r of results) {
    const name = basename(r.file);
    if (!r.tsbpf || (!r.libbpf && !o.tsbpfOnly)) {
      rows.push([name, 'total', r.tsbpf ? fmt(r.tsbpf.total.median_us) : 'fails', r.libbpf ? fmt(r.libbpf.total.median_us) : o.tsbpfOnly ? '-' : 'fails', '-']);
      continue;
    }
    // --tsbpf-only: the same rows, libbpf's column empty
    const t = r.tsbpf, l: Partial<Side> & { total?: Stat } = r.libbpf ?? {};
    rows.push([name, 'total (open+load+close)', fmt(t.total.median_us), fmt(l.total?.median_us), rat(t.total.median_us, l.total?.median_us)]);
    rows.push(['', 'open (read + parse)', fmt(t.open.median_us), fmt(l.open?.median_us), rat(t.open.median_us, l.open?.median_us)]);
    rows.push(['', 'load (prepare + syscalls)', fmt(t.load.median_us), fmt(l.load?.median_us), rat(t.load.median_us, l.load?.median_us)]);
    rows.push(['', 'close', fmt(t.close.median_us), fmt(l.close?.median_us), rat(t.close.median_us, l.close?.median_us)]);
    rows.push(['', `inside bpf() (calls: ${t.bpf_calls} / ${l.bpf_calls ?? '-'})`, fmt(t.load_bpf.median_us), fmt(l.load_bpf?.median_us), rat(t.load_bpf.median_us, l.load_bpf?.median_us)]);
    rows.push(['', 'user-space overhead (total - bpf)', fmt(t.overhead.median_us), fmt(l.overhead?.median_us), rat(t.overhead.median_us, l.overhead?.median_us)]);
    rows.push(['', 'user CPU / iter (getrusage)', fmt(t.user_us_per_iter), fmt(l.user_us_per_iter), rat(t.user_us_per_iter, l.user_us_per_iter)]);
    rows.push(['', 'sys CPU / iter (getrusage)', fmt(t.sys_us_per_iter), fmt(l.sys_us_per_iter), rat(t.sys_us_per_iter, l.sys_us_per_iter)]);
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const t of rows) console.log(line(t));
  console.log('');
  // one line per object: the goal (total ratio) and where the time goes on each side
  const both = results.filter((r) => r.tsbpf && r.libbpf);
  if (both.length > 1) {
    const sh = ['object', 'tsbpf', 'libbpf', 'ratio', 'bpf() ts', 'bpf() lb', 'user ts', 'user lb'];
    const srows = both.map((r) => [basename(r.file), fmt(r.tsbpf!.total.median_us), fmt(r.libbpf!.total.median_us), rat(r.tsbpf!.total.median_us, r.libbpf!.total.median_us),
      fmt(r.tsbpf!.load_bpf.median_us), fmt(r.libbpf!.load_bpf.median_us), fmt(r.tsbpf!.overhead.median_us), fmt(r.libbpf!.overhead.median_us)]);
    const sw = sh.map((h, i) => Math.max(h.length, ...srows.map((t) => t[i]!.length)));
    const sl = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(sw[i]!) : c.padStart(sw[i]!))).join('  ');
    console.log('summary: total open+load+close medians; time inside bpf() during load and close; user space = total - bpf()');
    console.log(sl(sh));
    console.log(sw.map((n) => '-'.repeat(n)).join('  '));
    for (const t of srows) console.log(sl(t));
    const g = Math.exp(both.reduce((a, r) => a + Math.log(r.ratio!), 0) / both.length);
    console.log(`geometric mean ratio ${g.toFixed(2)}x over ${both.length} objects; above 1.0x: ${both.filter((r) => r.ratio! > 1).map((r) => basename(r.file)).join(', ') || 'none'}`);
    console.log('');
  }
  // --vs: this build against the other, same rounds; "load + close" is user space outside open
  const withVs = results.filter((r) => r.tsbpf && r.vs);
  if (withVs.length) {
    const lc = (x: Side) => x.overhead.median_us - x.open.median_us;
    const vh = ['object', 'total', 'total vs', 'this/vs', 'open', 'open vs', 'load+close user', 'vs', 'this/vs'];
    const vrows = withVs.map((r) => [basename(r.file), fmt(r.tsbpf!.total.median_us), fmt(r.vs!.total.median_us), rat(r.tsbpf!.total.median_us, r.vs!.total.median_us),
      fmt(r.tsbpf!.open.median_us), fmt(r.vs!.open.median_us), fmt(lc(r.tsbpf!)), fmt(lc(r.vs!)), rat(lc(r.tsbpf!), lc(r.vs!))]);
    const vw = vh.map((h, i) => Math.max(h.length, ...vrows.map((t) => t[i]!.length)));
    const vl = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(vw[i]!) : c.padStart(vw[i]!))).join('  ');
    console.log(`--vs ${o.vs}: medians of this build and the other over the same rounds; load+close user = total - bpf() - open`);
    console.log(vl(vh));
    console.log(vw.map((n) => '-'.repeat(n)).join('  '));
    for (const t of vrows) console.log(vl(t));
    const gv = Math.exp(withVs.reduce((a, r) => a + Math.log(r.tsbpf!.total.median_us / r.vs!.total.median_us), 0) / withVs.length);
    console.log(`geometric mean this/vs (total) ${gv.toFixed(2)}x over ${withVs.length} objects`);
    console.log('');
  }
  for (const r of results) {
    const name = basename(r.file);
    if (r.tsbpfError) console.log(`${name}: tsbpf fails: ${r.tsbpfError}`);
    if (r.libbpfError) console.log(`${name}: libbpf fails: ${r.libbpfError}`);
    if (r.vsError) console.log(`${name}: --vs build fails: ${r.vsError}`);
    if (r.ratio !== undefined) console.log(`${name}: total ratio ${r.ratio.toFixed(2)}x (goal: <= 1.00x)`);
    if (r.kernel) {
      const progs = r.kernel.tsbpf!.programs;
      const desc = progs.map((p) => `${p.name} ${p.verified_insns} insns verified, func/line info ${p.nr_func_info}/${p.nr_line_info}`).join('; ');
      if (r.kernel.libbpf === undefined) console.log(`  kernel view (tsbpf): ${desc}`);
      else if (r.kernel.differences.length === 0) console.log(`  same kernel work on both sides: BTF ${r.kernel.tsbpf!.btf_fd ? 'loaded' : 'not loaded'}, ${r.kernel.tsbpf!.maps} maps; ${desc}`);
      else for (const d of r.kernel.differences) console.log(`  DIFFERENT: ${d}`);
      if (r.kernel.btfChanges?.length) console.log(`  tsbpf BTF sanitisation: ${r.kernel.btfChanges.join('; ')}`);
    }
  }
}

await main();
