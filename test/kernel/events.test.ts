// Event readers against the kernel: bpf-objs/events.bpf.o's programs, fired with
// BPF_PROG_TEST_RUN (repeat), send numbered 64-byte records to a ring buffer and a perf event
// array; the readers must hand out every record, in order (per CPU for perf), with the right
// bytes, count what the kernel dropped, and release everything on close, also from inside a
// callback or a `for await` body.
import * as assert from 'uvu/assert';
import { test as uvuTest } from 'uvu';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec } from '../../src/index.js';
import { EventReader, EventsError, type EventBatch, type EventRecord } from '../../src/events/index.js';
import { onlineCpus } from '../../src/events/map-ref.js';
import { onOneCpu } from '../helpers/cpu.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('events');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/events.bpf.o');
const EVENT_MAGIC = 0x65766e74;
const TAG = process.pid >>> 0;

/** A 64-byte test packet whose first 4 bytes are this run's tag. */
function packet(): Uint8Array {
  const p = new Uint8Array(64);
  new DataView(p.buffer).setUint32(0, TAG, true);
  return p;
}

function fire(c: Collection, prog: string, repeat: number): void {
  const r = c.programs.get(prog)!.testRun({ data: packet(), repeat });
  assert.is(r.retval, 2, `${prog} returned XDP_PASS`);
}

function counters(c: Collection): Record<string, bigint> {
  return c.maps.get('.bss')!.lookup(0) as Record<string, bigint>;
}

/** The bytes the fixture puts in record number `seq` (struct event). */
function checkEvent(data: Uint8Array, seq: number, kind: string): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  assert.is(dv.getBigUint64(0, true), BigInt(seq), 'seq');
  assert.is(dv.getUint32(12, true), EVENT_MAGIC, 'magic');
  assert.is(dv.getUint32(16, true), TAG, 'tag');
  assert.is(Buffer.from(data.subarray(20, 32)).toString('latin1').replace(/\0+$/, ''), kind);
  for (let i = 0; i < 32; i++) if (data[32 + i] !== ((seq + i) & 0xff)) assert.unreachable(`record ${seq}: fill[${i}] is ${data[32 + i]}`);
}

const fdCount = () => readdirSync('/proc/self/fd').length;
const bpfMappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => /anon_inode:(\[perf_event\]|bpf-map)/.test(l)).length;

test('ring buffer: every record in order, with its bytes; decoded through the object BTF', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('ring')!);
    try {
      fire(c, 'to_ringbuf', 1000);
      const got: EventRecord[] = [];
      assert.is(r.drain((rec) => got.push(rec)), 1000);
      got.forEach((rec, i) => { assert.is(rec.map, 'ring'); assert.is(rec.cpu, undefined); assert.is(rec.data.length, 64); checkEvent(rec.data, i, 'ringbuf'); });
      assert.is(r.drain(() => assert.unreachable('nothing more')), 0);
      r.decode('struct event');
      fire(c, 'to_ringbuf', 2);
      const v: EventRecord[] = [];
      r.drain((rec) => v.push(rec));
      assert.equal(v.map((x) => (x.value as { seq: bigint }).seq), [1000n, 1001n]);
      const val = v[0]!.value as Record<string, unknown>;
      assert.is(val.magic, EVENT_MAGIC);
      assert.is(val.kind, 'ringbuf', 'char arrays become strings');
      assert.is(val.tag, TAG);
      assert.equal(val.fill, Array.from({ length: 32 }, (_, i) => (1000 + i) & 0xff));
      assert.equal(r.stats(), [{ map: 'ring', type: 'ringbuf', read: 1002, lost: 0, ...(process.arch === 'x64' ? { walker: 'wasm' as const } : {}) }]);
      assert.is(counters(c).ring_dropped, 0n);
    } finally { r.close(); }
  } finally { c.close(); }
});

test('ring buffer: discarded records (bpf_ringbuf_discard) are skipped; drain({ max }) stops there', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('ring')!);
    try {
      fire(c, 'to_ringbuf_reserve', 300);
      const seqs: number[] = [];
      assert.is(r.drain((rec) => { seqs.push(Number(rec.data.readBigUInt64LE(0))); checkEvent(rec.data, seqs.at(-1)!, 'reserve'); }, { max: 50 }), 50);
      r.drain((rec) => seqs.push(Number(rec.data.readBigUInt64LE(0))));
      assert.equal(seqs, Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 1));
    } finally { r.close(); }
  } finally { c.close(); }
});

test('perf buffer: every record, in order per CPU, with the kernel padding (68 bytes for 64), cpu set', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('perf')!, { type: 'struct event' });
    try {
      fire(c, 'to_perf', 1000);
      const byCpu = new Map<number, number[]>();
      r.drain((rec) => {
        assert.is(rec.map, 'perf');
        assert.is(rec.data.length, 68);
        const seq = Number((rec.value as { seq: bigint }).seq);
        checkEvent(rec.data, seq, 'perf');
        assert.is((rec.value as { cpu: number }).cpu, rec.cpu, 'the CPU whose buffer held it is the one it was sent on');
        if (!byCpu.has(rec.cpu!)) byCpu.set(rec.cpu!, []);
        byCpu.get(rec.cpu!)!.push(seq);
      });
      const all = [...byCpu.values()].flat().sort((a, b) => a - b);
      assert.equal(all, Array.from({ length: 1000 }, (_, i) => i), 'every record once');
      for (const [cpu, seqs] of byCpu) assert.equal(seqs, [...seqs].sort((a, b) => a - b), `in order on CPU ${cpu}`);
      const st = r.stats()[0]!;
      assert.is(st.read, 1000);
      assert.is(st.lost, 0);
      assert.is(counters(c).perf_dropped, 0n);
    } finally { r.close(); }
  } finally { c.close(); }
});

test('drainBatch: a known sequence through batches, ring buffer (in order, discards skipped) and perf buffer (in order per CPU); the batch views the ring and its space is released', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!], { batchRecords: 1024 });
    try {
      fire(c, 'to_ringbuf', 3000); // 3000 * 72 bytes: the 256 KiB ring wraps once its space is released
      fire(c, 'to_perf', 2000);
      const ring: number[] = [];
      const byCpu = new Map<number, number[]>();
      let batches = 0;
      const seen = (b: EventBatch) => {
        batches++;
        assert.ok(b.count > 0 && b.count <= b.offsets.length);
        for (let i = 0; i < b.count; i++) {
          const o = b.offsets[i]!, len = b.lengths[i]!;
          const data = b.bytes.subarray(o, o + len);
          assert.is(b.words[o >>> 2], b.view.getUint32(o, true), 'words and view read the same bytes');
          const seq = Number(b.view.getBigUint64(o, true));
          if (b.map === 'ring') {
            assert.is(b.cpu, undefined);
            assert.is(len, 64);
            checkEvent(data, seq, 'ringbuf');
            ring.push(seq);
          } else {
            assert.is(b.map, 'perf');
            assert.is(len, 68);
            checkEvent(data, seq, 'perf');
            assert.is(b.view.getUint32(o + 8, true), b.cpu, 'sent on the CPU whose buffer holds it');
            if (!byCpu.has(b.cpu!)) byCpu.set(b.cpu!, []);
            byCpu.get(b.cpu!)!.push(seq);
          }
        }
      };
      // the ring holds 3640 records of 72 bytes: 3000 fit; a second run after a partial drain
      // makes the producer wrap around the ring's end
      assert.is(r.drainBatch(seen, { max: 2500 }), 2500);
      fire(c, 'to_ringbuf', 2000);
      r.drainBatch(seen);
      assert.equal(ring, Array.from({ length: 5000 }, (_, i) => i), 'ring buffer: every record once, in order');
      const all = [...byCpu.values()].flat().sort((a, b) => a - b);
      assert.equal(all, Array.from({ length: 2000 }, (_, i) => i), 'perf buffer: every record once');
      for (const [cpu, seqs] of byCpu) assert.equal(seqs, [...seqs].sort((a, b) => a - b), `in order on CPU ${cpu}`);
      assert.ok(batches >= 4, `${batches} batches (1024 records at most each)`);
      assert.is(counters(c).ring_dropped, 0n, 'the space of every batch went back to the kernel');
      assert.is(r.drainBatch(() => assert.unreachable('nothing more')), 0);
      assert.equal(r.stats().map((s) => [s.map, s.read, s.lost]), [['ring', 5000, 0], ['perf', 2000, 0]]);
      // discarded records (bpf_ringbuf_discard) never show up in a batch
      fire(c, 'to_ringbuf_reserve', 300);
      const kept: number[] = [];
      r.drainBatch((b) => { for (let i = 0; i < b.count; i++) kept.push(Number(b.view.getBigUint64(b.offsets[i]!, true))); });
      assert.equal(kept, Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 1));
    } finally { r.close(); }
  } finally { c.close(); }
});

test('drainBatch: close() from the callback ends the drain; nothing is released or read after it', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('ring')!, { batchRecords: 1000 });
    fire(c, 'to_ringbuf', 3000);
    let calls = 0;
    const n = r.drainBatch((b) => { calls++; assert.is(b.count, 1000, 'a batch holds batchRecords records at most'); r.close(); });
    assert.is(n, 1000);
    assert.is(calls, 1);
    assert.ok(r.closed);
  } finally { c.close(); }
});

// The WebAssembly walker (rings mapped into a WebAssembly.Memory) and the JS one read the same
// records; 'auto' takes WebAssembly on x86-64.
for (const walker of ['wasm', 'js'] as const) {
  const wasmHere = process.arch === 'x64';
  test(`${walker} walker: 5,000 records of a ring buffer and 5,000 of a perf buffer, in order (per CPU), through drainBatch and drain`, () => {
    if (walker === 'wasm' && !wasmHere) { console.log(`    # skipped: the ring buffer's WebAssembly walker needs x86-64 (this is ${process.arch})`); return; }
    const spec = loadCollectionSpec(file);
    spec.maps.get('ring')!.maxEntries = 1 << 20; // 5,000 records of 72 bytes
    const c = Collection.load(spec);
    try {
      const fds = fdCount(), maps = bpfMappings();
      const r = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!], { walker, pagesPerCpu: 256 }); // 1 MiB per CPU
      try {
        assert.equal(r.stats().map((s) => s.walker), [walker, walker]);
        fire(c, 'to_ringbuf', 5000);
        fire(c, 'to_perf', 5000);
        const ring: number[] = [];
        const byCpu = new Map<number, number[]>();
        // half through drainBatch (the words of each record's start), half through drain
        r.drainBatch((b) => {
          for (let i = 0; i < b.count; i++) {
            const seq = b.words[b.offsets[i]! >>> 2]!; // the low half of struct event's u64 seq
            if (b.cpu === undefined) {
              assert.is(b.lengths[i], 64);
              checkEvent(b.bytes.subarray(b.offsets[i]!, b.offsets[i]! + 64), seq, 'ringbuf');
              ring.push(seq);
            } else {
              assert.is(b.lengths[i], 68);
              checkEvent(b.bytes.subarray(b.offsets[i]!, b.offsets[i]! + 64), seq, 'perf');
              if (!byCpu.has(b.cpu)) byCpu.set(b.cpu, []);
              byCpu.get(b.cpu)!.push(seq);
            }
          }
        }, { max: 7500 });
        r.drain((rec) => {
          const seq = rec.data.readUInt32LE(0);
          if (rec.map === 'ring') ring.push(seq);
          else {
            if (!byCpu.has(rec.cpu!)) byCpu.set(rec.cpu!, []);
            byCpu.get(rec.cpu!)!.push(seq);
          }
        });
        assert.equal(ring, Array.from({ length: 5000 }, (_, i) => i));
        assert.equal([...byCpu.values()].flat().sort((a, b) => a - b), Array.from({ length: 5000 }, (_, i) => i));
        for (const [cpu, seqs] of byCpu) assert.equal(seqs, [...seqs].sort((a, b) => a - b), `in order on CPU ${cpu}`);
        assert.equal(r.stats().map((s) => [s.read, s.lost]), [[5000, 0], [5000, 0]]);
      } finally { r.close(); }
      assert.is(fdCount(), fds, 'every fd closed');
      assert.is(bpfMappings(), maps, 'no ring or perf mapping left');
    } finally { c.close(); }
  });

  test(`${walker} walker: close() during drainBatch and during for await ends them without a crash; views kept past close read zeros`, async () => {
    if (walker === 'wasm' && !wasmHere) { console.log(`    # skipped: the ring buffer's WebAssembly walker needs x86-64 (this is ${process.arch})`); return; }
    const c = Collection.loadFile(file);
    try {
      const fds = fdCount(), maps = bpfMappings();
      const r = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!], { walker, batchRecords: 1024 });
      fire(c, 'to_ringbuf', 3000);
      fire(c, 'to_perf', 100);
      let kept: Uint8Array | undefined;
      let calls = 0;
      const n = r.drainBatch((b) => {
        calls++;
        kept = b.bytes.subarray(b.offsets[0]!, b.offsets[0]! + 64);
        assert.is(new DataView(kept.buffer, kept.byteOffset, 4).getUint32(0, true), 0, 'record 0 first');
        r.close();
      });
      assert.is(calls, 1);
      assert.is(n, 1024);
      assert.ok(r.closed);
      assert.ok(kept!.every((x) => x === 0), 'a view of the ring kept past close reads the zero pages put in its place');
      assert.is(bpfMappings(), maps, 'no ring or perf mapping left');

      const r2 = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!], { walker });
      fire(c, 'to_ringbuf', 50);
      fire(c, 'to_perf', 50);
      let seen = 0;
      for await (const rec of r2) {
        if (++seen === 60) r2.close();
        void rec;
      }
      assert.is(seen, 60);
      assert.is(fdCount(), fds, 'every fd closed');
      assert.is(bpfMappings(), maps, 'no ring or perf mapping left');
    } finally { c.close(); }
  });
}

test('perf buffer overflow: a one-page buffer not drained loses records, and read + lost adds up', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('perf')!, { pagesPerCpu: 1 });
    try {
      // on one CPU (helpers/cpu.ts): the kernel writes PERF_RECORD_LOST with the next record
      // it has room for in the same CPU's buffer, so the second run must land where the
      // losses were (unpinned, a busy machine migrates the thread: 'lost 0', 449 dropped)
      const { read, cpu } = onOneCpu((cpu) => {
        fire(c, 'to_perf', 500); // 500 x 80 bytes: a one-page buffer holds ~50
        let read = r.drain(() => {});
        fire(c, 'to_perf', 1);
        read += r.drain(() => {});
        return { read, cpu };
      });
      const lost = r.lost;
      assert.ok(lost > 0, `lost ${lost}`);
      assert.ok(read < 500, `read ${read}`);
      assert.is(read + lost, 501);
      assert.is(Number(counters(c).perf_dropped), lost, 'the program saw each loss as a failed bpf_perf_event_output');
      const st = r.stats()[0]!;
      assert.is(Object.values(st.lostByCpu!).reduce((a, b) => a + b, 0), lost, 'lost per CPU adds up to lost');
      assert.equal(Object.keys(st.lostByCpu!).map(Number), onlineCpus(), 'a lost count for every CPU with a buffer');
      assert.is(st.lostByCpu![cpu], lost, `every loss on CPU ${cpu}, where the program ran`);
    } finally { r.close(); }
  } finally { c.close(); }
});

test('ring buffer overflow: a 4 KiB ring refuses outputs (the program counts them; the reader gets the rest)', () => {
  const spec = loadCollectionSpec(file);
  spec.maps.get('ring')!.maxEntries = 4096;
  const c = Collection.load(spec);
  try {
    const r = EventReader.open(c.maps.get('ring')!);
    try {
      fire(c, 'to_ringbuf', 200);
      const n = r.drain(() => {});
      const dropped = Number(counters(c).ring_dropped);
      assert.is(n, Math.floor(4096 / 72));
      assert.is(n + dropped, 200);
      assert.is(r.lost, 0, 'ring buffers do not count drops');
    } finally { r.close(); }
  } finally { c.close(); }
});

test('one reader over a ring buffer and a perf buffer; for await waits without blocking the event loop', async () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!]);
    // the records come from the 5th and 10th ticks of a 2 ms interval: they are sent only if
    // the event loop keeps turning while the reader waits
    let ticks = 0, perfAt = Infinity;
    const iv = setInterval(() => {
      ticks++;
      if (ticks === 5) fire(c, 'to_ringbuf', 3);
      if (ticks === 10) { perfAt = performance.now(); fire(c, 'to_perf', 2); }
    }, 2);
    try {
      assert.equal(r.maps, ['ring', 'perf']);
      const got: string[] = [];
      const guard = setTimeout(() => r.close(), 10000); // ends the loop if nothing comes
      for await (const rec of r) {
        got.push(`${rec.map}:${rec.data.readBigUInt64LE(0)}`);
        if (got.length === 5) break;
      }
      clearTimeout(guard);
      assert.ok(performance.now() >= perfAt, 'waited for the perf records');
      assert.equal(got, ['ring:0', 'ring:1', 'ring:2', 'perf:0', 'perf:1']);
      assert.equal(r.stats().map((s) => [s.map, s.read]), [['ring', 3], ['perf', 2]]);
      // break did not close the reader: it reads on
      fire(c, 'to_ringbuf', 1);
      assert.is((await r.read({ timeoutMs: 1000 }))!.data.readBigUInt64LE(0), 3n);
      assert.is(await r.read({ timeoutMs: 30 }), undefined, 'timeout');
    } finally { clearInterval(iv); if (!r.closed) r.close(); }
  } finally { c.close(); }
});

test('several ring buffers through one reader (as ring_buffer__add): each record under its map, in order per ring; a wait wakes on any of them', async () => {
  const c1 = Collection.loadFile(file);
  const c2 = Collection.loadFile(file);
  try {
    // two objects' `ring` maps, named apart with { fd, name }; the second one added later
    const r = EventReader.open({ fd: c1.maps.get('ring')!.fd, name: 'ring-a' });
    try {
      r.add({ fd: c2.maps.get('ring')!.fd, name: 'ring-b' });
      assert.equal(r.maps, ['ring-a', 'ring-b']);
      fire(c2, 'to_ringbuf', 3);
      fire(c1, 'to_ringbuf', 2);
      const got: string[] = [];
      r.drain((rec) => got.push(`${rec.map}:${rec.data.readBigUInt64LE(0)}`));
      assert.equal(got, ['ring-a:0', 'ring-a:1', 'ring-b:0', 'ring-b:1', 'ring-b:2']);
      // a read() waiting on both: a record in the second ring ends it
      let ticks = 0;
      const iv = setInterval(() => { if (++ticks === 5) fire(c2, 'to_ringbuf', 1); }, 2);
      try {
        const rec = await r.read({ timeoutMs: 10000 });
        assert.ok(rec, 'the record in ring-b woke the reader');
        assert.is(rec.map, 'ring-b');
        assert.is(rec.data.readBigUInt64LE(0), 3n);
      } finally { clearInterval(iv); }
      assert.equal(r.stats().map((s) => [s.map, s.read]), [['ring-a', 2], ['ring-b', 4]]);
    } finally { r.close(); }
  } finally { c1.close(); c2.close(); }
});

const delay = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

for (const [what, opts] of [['wakeupEvents 8', { wakeupEvents: 8 }], ['watermark 500 bytes', { watermark: 500 }]] as const) {
  test(`perf buffer ${what}: a waiting reader is not woken by fewer records (80 bytes each), and is once a CPU's buffer holds that many`, async () => {
    const c = Collection.loadFile(file);
    try {
      const r = EventReader.open(c.maps.get('perf')!, opts);
      try {
        let woke = false;
        const first = r.read().then((rec) => { woke = true; return rec; });
        // three single records (on any CPUs): below the threshold of every CPU's buffer
        for (let i = 0; i < 3; i++) { fire(c, 'to_perf', 1); await delay(30); }
        assert.not.ok(woke, 'no wake-up below the threshold');
        // eight more in one test run (its repeat loop does not migrate): one CPU gets past it
        fire(c, 'to_perf', 8);
        const rec = await Promise.race([first, delay(10000).then(() => 'timeout' as const)]);
        assert.ok(rec && rec !== 'timeout', 'woken once past the threshold');
        const seqs = [Number(rec.data.readBigUInt64LE(0))];
        r.drain((x) => seqs.push(Number(x.data.readBigUInt64LE(0))));
        assert.equal(seqs.sort((a, b) => a - b), Array.from({ length: 11 }, (_, i) => i), 'every record, also those sent before the wake-up');
      } finally { r.close(); }
    } finally { c.close(); }
  });
}

test('close() inside a for await body ends the loop; a pending read() resolves undefined; no crash, nothing left', async () => {
  const c = Collection.loadFile(file);
  try {
    const fds = fdCount(), maps = bpfMappings();
    const r = EventReader.open([c.maps.get('ring')!, c.maps.get('perf')!]);
    assert.ok(bpfMappings() > maps, 'rings mapped');
    fire(c, 'to_ringbuf', 10);
    let n = 0;
    for await (const rec of r) {
      n++;
      if (n === 3) r.close();
      void rec;
    }
    assert.is(n, 3);
    assert.ok(r.closed);
    assert.is(fdCount(), fds, 'every fd closed');
    assert.is(bpfMappings(), maps, 'no ring or perf mapping left');

    const r2 = EventReader.open(c.maps.get('ring')!);
    const pending = r2.read();
    setTimeout(() => r2.close(), 30);
    assert.is(await pending, undefined);
    assert.is(fdCount(), fds);
  } finally { c.close(); }
});

test('close() from a drain callback; a zero-copy view kept after close reads zeros instead of crashing', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('ring')!);
    fire(c, 'to_ringbuf', 20);
    const kept: Buffer[] = [];
    const n = r.drain((rec) => { kept.push(rec.data); if (kept.length === 2) r.close(); }, { zeroCopy: true });
    assert.is(n, 2);
    // the views pointed into the ring; after close they see the zero pages put in its place
    assert.is(kept[0]!.length, 64);
    assert.ok(kept.every((b) => b.every((x) => x === 0)), 'stale zero-copy views read zeros');
  } finally { c.close(); }
});

test('the perf event array entries go with the reader: after close, outputs find no buffer', () => {
  const c = Collection.loadFile(file);
  try {
    const r = EventReader.open(c.maps.get('perf')!);
    fire(c, 'to_perf', 3);
    assert.is(r.drain(() => {}), 3);
    r.close();
    fire(c, 'to_perf', 4);
    assert.is(counters(c).perf_dropped, 4n, 'bpf_perf_event_output fails with no perf event at the CPU index');
  } finally { c.close(); }
});

test('pinned maps by path: a ring buffer decoded with the BTF given (it has no BTF of its own in the kernel), a perf event array', () => {
  const dir = `/sys/fs/bpf/tsbpf-events-${process.pid}`;
  mkdirSync(dir);
  const c = Collection.loadFile(file);
  try {
    c.maps.get('ring')!.pin(`${dir}/ring`);
    const fds = fdCount();
    assert.throws(() => EventReader.open(`${dir}/ring`, { type: 'struct event' }), (e: Error) => e instanceof EventsError && e.reason === 'type-unknown' && /comes with no BTF/.test(e.message));
    const r = EventReader.open(`${dir}/ring`, { type: 'struct event', btf: loadCollectionSpec(file).btf });
    try {
      fire(c, 'to_ringbuf', 2);
      const got: EventRecord[] = [];
      r.drain((rec) => got.push(rec));
      assert.equal(got.map((g) => [g.map, (g.value as { seq: bigint }).seq, (g.value as { kind: string }).kind]), [['ring', 0n, 'ringbuf'], ['ring', 1n, 'ringbuf']]);
    } finally { r.close(); }
    // a perf event array by path: the reader stores its perf events through its own map file
    c.maps.get('perf')!.pin(`${dir}/perf`);
    const p = EventReader.open(`${dir}/perf`);
    try {
      fire(c, 'to_perf', 3);
      const seqs: number[] = [];
      p.drain((rec) => { assert.is(rec.map, 'perf'); assert.ok(onlineCpus().includes(rec.cpu!)); seqs.push(Number(rec.data.readBigUInt64LE(0))); });
      assert.equal(seqs.sort(), [0, 1, 2]);
      assert.is(counters(c).perf_dropped, 0n);
    } finally { p.close(); }
    assert.is(fdCount(), fds, 'the failed open left nothing open');
  } finally { c.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('bad input: not an event map, an unknown type, a batch size out of range, a type of another size, close() twice; nothing left open', () => {
  const c = Collection.loadFile(file);
  try {
    const fds = fdCount();
    const refused = (f: () => unknown): EventsError => {
      try { f(); } catch (e) { assert.instance(e, EventsError); return e as EventsError; }
      return assert.unreachable('no error') as never;
    };
    const e1 = refused(() => EventReader.open(c.maps.get('.bss')!));
    assert.is(e1.reason, 'map-type');
    assert.match(e1.message, /map '\.bss' \(array\) is not a perf_event_array or ringbuf map: an event reader needs one/);
    assert.is(fdCount(), fds);
    const e2 = refused(() => EventReader.open(c.maps.get('ring')!, { type: 'struct nope' }));
    assert.is(e2.reason, 'type-unknown');
    assert.match(e2.message, /no type 'struct nope' in the object's BTF/);
    const e3 = refused(() => EventReader.open(c.maps.get('perf')!, { type: 'ring_seq' }));
    assert.is(e3.reason, 'type-unknown');
    assert.match(e3.message, /'ring_seq' is a var|no type 'ring_seq'/);
    for (const batchRecords of [0, 1.5, 2 ** 21]) {
      for (const m of ['ring', 'perf']) {
        const e = refused(() => EventReader.open(c.maps.get(m)!, { batchRecords }));
        assert.is(e.reason, 'options');
        assert.match(e.message, new RegExp(`batchRecords ${batchRecords} must be an integer from 1 to`));
      }
    }
    assert.is(fdCount(), fds, 'the failed opens left nothing open');

    const r = EventReader.open(c.maps.get('ring')!, { type: 'struct event' });
    fire(c, 'to_ringbuf_short', 1);
    const e4 = refused(() => r.drain(() => {}));
    assert.is(e4.reason, 'type-size');
    assert.match(e4.message, /a record of 13 bytes cannot be a struct event \(64 bytes\)/);
    r.close();
    const e5 = refused(() => r.close());
    assert.is(e5.reason, 'closed');
    assert.is(refused(() => r.drain(() => {})).reason, 'closed');
    assert.is(fdCount(), fds);
  } finally { c.close(); }
});

uvuTest.run();
