/**
 * Event readers against libbpf (issue 11): records per second draining the same pre-filled
 * buffers, and the event loop's latency while a reader waits.
 *
 *   node --import tsx bench/events.ts [--n RECORDS] [--rounds R] [--kinds ringbuf,perf]
 *                                      [--methods drainBatch,...] [--batch-records N]
 *                                      [--idle-ms MS] [--json] [--src]
 *
 * bpf-objs/events.bpf.o is loaded with its ring buffer grown to hold RECORDS (default 1M)
 * records of 64 bytes; `ring`, `perf`, `to_ringbuf` and `to_perf` are pinned for the C side.
 * Each round, for each kind, libbpf (bench/libbpf-events.c: ring_buffer__new /
 * perf_buffer__new, one BPF_PROG_TEST_RUN with repeat = RECORDS, then one timed
 * ring_buffer__consume / perf_buffer__consume) and then tsbpf (EventReader.open, the same test
 * run, then one timed drain) each drain RECORDS records; every callback adds the record's
 * first 4 bytes to a sum. tsbpf is timed six ways (--methods picks some): drain() (a record
 * object with a copy of the bytes), drain({ zeroCopy }), drainRaw() (no record object),
 * drainBatch() (a batch of offsets per call; --batch-records sets the reader's batch size),
 * drainBatch() with the JS walker, and `for await`. Medians over the rounds; ratios against
 * libbpf's median in the same run. Perf buffers get 2^15 pages per CPU (the test run may move
 * between CPUs).
 *
 * Idle latency: a `for await` waits on an empty ring buffer while
 * perf_hooks.monitorEventLoopDelay (1 ms resolution) samples the event loop for --idle-ms
 * (default 2000), against the same measurement with no reader. Goals: drain >= 0.5x libbpf
 * (moonshot 1.0x), iterator >= 1M records/s, idle latency < 1 ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import type * as Tsbpf from '../src/index.js';
import { buildReference, buildTsbpf, die, median, root } from './common.js';

type Kind = 'ringbuf' | 'perf';
interface Options { n: number; rounds: number; kinds: Kind[]; methods: Method[]; batchRecords?: number; idleMs: number; json: boolean; src: boolean }

type Method = 'drain' | 'drain zeroCopy' | 'drainRaw' | 'drainBatch' | 'drainBatch js' | 'for await';
/** 'drainBatch js': drainBatch with the JS walker (walker: 'js'); every other method takes the default ('auto': WebAssembly on x86-64). */
const METHODS: Method[] = ['drain', 'drain zeroCopy', 'drainRaw', 'drainBatch', 'drainBatch js', 'for await'];
const USAGE = 'usage: node --import tsx bench/events.ts [--n RECORDS] [--rounds R] [--kinds ringbuf,perf] [--methods drainBatch,...] [--batch-records N] [--idle-ms MS] [--json] [--src]';

function parseArgs(argv: string[]): Options {
  const o: Options = { n: 1_000_000, rounds: 3, kinds: ['ringbuf', 'perf'], methods: METHODS, idleMs: 2000, json: false, src: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i] ?? '');
    const num = (name: string) => { const v = Number(val()); if (!Number.isInteger(v) || v < 1) die(`${name} must be a positive integer`); return v; };
    if (a.startsWith('--n')) o.n = num('--n');
    else if (a.startsWith('--rounds')) o.rounds = num('--rounds');
    else if (a.startsWith('--idle-ms')) o.idleMs = num('--idle-ms');
    else if (a.startsWith('--batch-records')) o.batchRecords = num('--batch-records');
    else if (a.startsWith('--methods')) {
      o.methods = val().split(',') as Method[];
      const bad = o.methods.filter((m) => !METHODS.includes(m));
      if (bad.length) die(`--methods: unknown ${bad.join(', ')} (methods: ${METHODS.join(', ')})`);
    }
    else if (a.startsWith('--kinds')) {
      o.kinds = val().split(',') as Kind[];
      if (o.kinds.some((k) => k !== 'ringbuf' && k !== 'perf')) die('--kinds takes ringbuf and/or perf');
    } else if (a === '--json') o.json = true;
    else if (a === '--src') o.src = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else die(`unknown option ${a}`);
  }
  return o;
}

const o = parseArgs(process.argv.slice(2));
if (process.getuid?.() !== 0) die('needs root (BPF maps, BPF_PROG_TEST_RUN, perf events)');
const PERF_PAGES = 1 << 15;
const RECORD_BYTES = 64 + 8; // ring buffer: data + header

const built = buildTsbpf(o.src);
const t: typeof Tsbpf = await import(pathToFileURL(built.entry).href);
const ref = buildReference('libbpf-events');

const spec = t.loadCollectionSpec(join(root, 'bpf-objs', 'events.bpf.o'));
let ringBytes = 4096;
while (ringBytes < o.n * RECORD_BYTES) ringBytes *= 2;
spec.maps.get('ring')!.maxEntries = ringBytes;
const coll = t.Collection.load(spec);
const pins = `/sys/fs/bpf/tsbpf-bench-events-${process.pid}`;
mkdirSync(pins);
const pinned = { ringbuf: { map: `${pins}/ring`, prog: `${pins}/to_ringbuf` }, perf: { map: `${pins}/perf`, prog: `${pins}/to_perf` } };
coll.maps.get('ring')!.pin(pinned.ringbuf.map);
coll.maps.get('perf')!.pin(pinned.perf.map);
coll.programs.get('to_ringbuf')!.pin(pinned.ringbuf.prog);
coll.programs.get('to_perf')!.pin(pinned.perf.prog);

/**
 * A full collection before each timed drain: the previous method's garbage (a million record
 * objects from drain, promises from for await) is otherwise collected by V8's helper threads
 * while the next drain runs, and process CPU time counts it against that drain.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * Before a timed drain: a full collection, then a pause. The collection's sweeping (and the
 * freeing of the previous reader's WebAssembly.Memory) goes on in V8's helper threads after
 * gc() returns; without the pause process CPU time counted it against the drain (per-thread
 * schedstat showed 1-4 ms of helper-thread time inside a 6 ms drain). libbpf's reference runs
 * in a process of its own, with none of this.
 */
async function settle(): Promise<void> {
  collectGarbage();
  await new Promise((res) => setTimeout(res, 100));
}

const packet = new Uint8Array(64);
function fill(kind: Kind, n: number): void {
  coll.programs.get(kind === 'ringbuf' ? 'to_ringbuf' : 'to_perf')!.testRun({ data: packet, repeat: n });
}
const mapOf = (kind: Kind) => coll.maps.get(kind === 'ringbuf' ? 'ring' : 'perf')!;

interface CRun { ok: boolean; records: number; lost: number; us: number; cpu_us: number; stage?: string; errno?: number; message?: string; libbpf?: string }
function libbpf(kind: Kind, n: number): CRun {
  const out = execFileSync(ref, [kind, pinned[kind].map, pinned[kind].prog, String(n), String(PERF_PAGES)], { encoding: 'utf8' });
  const r = JSON.parse(out) as CRun;
  if (!r.ok) die(`libbpf-events ${kind}: ${r.stage} failed (errno ${r.errno}) ${r.message ?? ''}`);
  return r;
}

/**
 * drainBatch's callback: like libbpf's, it adds each record's first 4 bytes to a sum and
 * counts what it got. It is one function for the whole run, as libbpf's callback is given
 * once to ring_buffer__new: a closure made anew for each timed drain is optimised anew by
 * V8 (on a helper thread, inside the few milliseconds the drain takes, and process CPU time
 * counts it). The sum goes through a local per batch: a module variable holding a new double
 * at every record would be a heap number per record.
 */
let batchSum = 0, batchGot = 0;
function onBatch(b: Tsbpf.EventBatch): void {
  const words = b.words, offsets = b.offsets, count = b.count;
  let s = 0;
  for (let i = 0; i < count; i++) s += words[offsets[i]! >>> 2]!;
  batchSum += s;
  batchGot += count;
}

/** One timed tsbpf drain of n pre-filled records: records, wall and CPU microseconds, records lost. */
async function tsbpf(kind: Kind, method: Method, n: number): Promise<[number, number, number, number]> {
  const r = t.EventReader.open(mapOf(kind), {
    pagesPerCpu: PERF_PAGES, walker: method === 'drainBatch js' ? 'js' : 'auto', batchRecords: o.batchRecords, // undefined: the default
  });
  try {
    fill(kind, n);
    await settle();
    let sum = 0, got = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (method === 'drain') got = r.drain((rec) => { sum += rec.data.readUInt32LE(0); });
    else if (method === 'drain zeroCopy') got = r.drain((rec) => { sum += rec.data.readUInt32LE(0); }, { zeroCopy: true });
    else if (method === 'drainRaw') got = r.drainRaw((b, s) => { sum += b.readUInt32LE(s); });
    else if (method === 'drainBatch' || method === 'drainBatch js') {
      batchSum = batchGot = 0;
      r.drainBatch(onBatch);
      sum = batchSum;
      got = batchGot;
    }
    else {
      for await (const rec of r) {
        sum += rec.data.readUInt32LE(0);
        if (++got === n - r.lost) break;
      }
    }
    const us = (performance.now() - t0) * 1000;
    const cpu = process.cpuUsage(c0);
    if (sum < 0) console.log(sum);
    return [got, us, cpu.user + cpu.system, r.lost];
  } finally { r.close(); }
}

/** Records per second of wall time and of CPU time (the box is shared: wall time also counts other processes' turns). */
const rates: Record<Kind, Record<string, { wall: number[]; cpu: number[] }>> = { ringbuf: {}, perf: {} };
const lostSeen: string[] = [];
const push = (kind: Kind, m: string, records: number, us: number, cpuUs: number) => {
  const r = (rates[kind][m] ??= { wall: [], cpu: [] });
  r.wall.push(records / (us / 1e6));
  r.cpu.push(records / (cpuUs / 1e6));
};
let libbpfVersion = '?';

try {
  // warm-up: JIT the readers' paths and the callbacks, fault in the maps once. With all the
  // records: a callback's sums pass 2^31 only at the sequence numbers of a full run, and V8
  // then re-optimises it for doubles (on a helper thread, inside the timed drain if it first
  // happens there)
  for (const kind of o.kinds) for (const m of o.methods) await tsbpf(kind, m, o.n);
  for (let round = 0; round < o.rounds; round++) {
    for (const kind of o.kinds) {
      const c = libbpf(kind, o.n);
      libbpfVersion = c.libbpf ?? libbpfVersion;
      if (c.lost) lostSeen.push(`libbpf ${kind}: ${c.lost} lost`);
      push(kind, 'libbpf', c.records, c.us, c.cpu_us);
      for (const m of o.methods) {
        const [got, us, cpuUs, lost] = await tsbpf(kind, m, o.n);
        if (lost) lostSeen.push(`tsbpf ${kind} ${m}: ${lost} lost`);
        push(kind, m, got, us, cpuUs);
      }
    }
  }

  // idle latency: the event loop while a for await waits on an empty ring buffer
  const delay = async (withReader: boolean) => {
    const r = withReader ? t.EventReader.open(mapOf('ringbuf')) : undefined;
    const loop = r ? (async () => { for await (const _ of r) void _; })() : undefined;
    await new Promise((res) => setTimeout(res, 50));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    await new Promise((res) => setTimeout(res, o.idleMs));
    h.disable();
    r?.close();
    await loop;
    return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  };
  const idleBase = await delay(false);
  const idleReader = await delay(true);

  const result = {
    records: o.n, rounds: o.rounds, batchRecords: o.batchRecords ?? 'default', libbpf: libbpfVersion, tsbpf: built.how,
    rates: Object.fromEntries(o.kinds.map((k) => [k, Object.fromEntries(Object.entries(rates[k]).map(([m, x]) => [m, { cpu: median(x.cpu), wall: median(x.wall) }]))])),
    idleMs: { withoutReader: idleBase, waitingReader: idleReader },
    lost: lostSeen,
  };
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`event readers: ${o.n} records of 64 bytes, median of ${o.rounds} rounds; libbpf ${libbpfVersion}; tsbpf: ${built.how}`);
    for (const k of o.kinds) {
      const base = result.rates[k]!.libbpf!;
      console.log(`\n${(k === 'ringbuf' ? 'ring buffer' : 'perf buffer').padEnd(20)} records/s (CPU)  vs libbpf   records/s (wall)  vs libbpf`);
      for (const m of ['libbpf', ...o.methods]) {
        const v = result.rates[k]![m]!;
        const ratio = (x: number, b: number) => (m === 'libbpf' ? '' : `${(x / b).toFixed(3)}x`);
        console.log(`  ${m.padEnd(18)} ${(v.cpu / 1e6).toFixed(2).padStart(9)} M     ${ratio(v.cpu, base.cpu).padStart(7)}    ${(v.wall / 1e6).toFixed(2).padStart(9)} M     ${ratio(v.wall, base.wall).padStart(7)}`);
      }
    }
    const f = (x: { p50: number; p99: number; max: number }) => `p50 ${x.p50.toFixed(3)} ms, p99 ${x.p99.toFixed(3)} ms, max ${x.max.toFixed(3)} ms`;
    console.log(`\nevent-loop delay over ${o.idleMs} ms (monitorEventLoopDelay, 1 ms resolution):`);
    console.log(`  no reader                ${f(idleBase)}`);
    console.log(`  for await on empty ring  ${f(idleReader)}`);
    if (lostSeen.length) console.log(`\nrecords lost (buffers too small?): ${lostSeen.join('; ')}`);
  }
} finally {
  coll.close();
  rmSync(pins, { recursive: true, force: true });
}
