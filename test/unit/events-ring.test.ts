// The pure ring parsers over plain ArrayBuffers, with small simulated kernel producers that
// write the layouts of kernel/bpf/ringbuf.c and kernel/events/ring_buffer.c: order, wrap-around
// (double-mapped and mapped once), the discard bit, a busy record not yet committed, lost
// records, positions written back, a visitor that throws or detaches the ring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RingbufConsumer, RingbufProducer, PerfConsumer, RingError } from '../../src/events/ring.js';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, PERF_MMAP_DATA_HEAD, PERF_MMAP_DATA_TAIL, PERF_RECORD_LOST, PERF_RECORD_SAMPLE } from '../../src/events/abi.js';
import { TsbpfError } from '../../src/errors.js';

/** A BPF ring buffer as the kernel lays it out; `mirrored` maps the data twice in a row. */
class FakeRingbuf {
  cons = new BigUint64Array(1);
  prod = new BigUint64Array(1);
  data: Uint8Array;
  constructor(readonly size: number, readonly mirrored: boolean) {
    this.data = new Uint8Array(mirrored ? 2 * size : size);
  }
  consumer(): RingbufConsumer { return new RingbufConsumer(this.cons, this.prod, this.data, this.size); }
  /** Writes bytes at ring position `pos` (wrapping; both copies when mirrored). */
  put(pos: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const o = (pos + i) % this.size;
      this.data[o] = bytes[i]!;
      if (this.mirrored) this.data[o + this.size] = bytes[i]!;
    }
  }
  word(pos: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.put(pos, b);
  }
  /** bpf_ringbuf_reserve: header with the busy bit, producer moved; returns the record position. */
  reserve(len: number): number | undefined {
    const p = Number(this.prod[0]);
    const total = Math.ceil((len + 8) / 8) * 8;
    if (p + total - Number(this.cons[0]) > this.size) return undefined;
    this.word(p, len | BPF_RINGBUF_BUSY_BIT);
    this.word(p + 4, 0);
    this.prod[0] = BigInt(p + total);
    return p;
  }
  commit(pos: number, bytes: Uint8Array, discard = false): void {
    this.put(pos + 8, bytes);
    this.word(pos, bytes.length | (discard ? BPF_RINGBUF_DISCARD_BIT : 0));
  }
  output(bytes: Uint8Array): boolean {
    const p = this.reserve(bytes.length);
    if (p === undefined) return false;
    this.commit(p, bytes);
    return true;
  }
}

const rec = (seq: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (seq * 31 + i) & 0xff);

type Consumer = RingbufConsumer | PerfConsumer;
const MODES = ['record', 'batch'] as const;

/**
 * The records a consumer hands out, as byte arrays, through one of its two paths: one call
 * per record (consume), or batches (next / release), checking on the way that a batch is one
 * contiguous stretch of its bytes and that `words` and `view` read what `bytes` holds.
 */
function collector(mode: (typeof MODES)[number]) {
  return (c: Consumer, max = Infinity): number[][] => {
    const out: number[][] = [];
    if (mode === 'record') {
      c.consume((b, s, l) => out.push([...b.subarray(s, s + l)]), max);
      return out;
    }
    let n = 0;
    while (n < max) {
      const k = c.next(max - n);
      if (k === 0) break;
      const b = c.batch;
      assert.is(b.count, k);
      for (let i = 0; i < k; i++) {
        const o = b.offsets[i]!, l = b.lengths[i]!;
        assert.is(o % 4, 0, 'offsets are multiples of 4');
        if (i > 0) assert.ok(o >= b.offsets[i - 1]! + b.lengths[i - 1]!, 'records in order in one stretch of bytes');
        assert.ok(o + l <= b.bytes.length);
        if (l >= 4) {
          assert.is(b.words[o >>> 2], b.view.getUint32(o, true));
          assert.is(b.words[o >>> 2], (b.bytes[o]! | b.bytes[o + 1]! << 8 | b.bytes[o + 2]! << 16 | b.bytes[o + 3]! << 24) >>> 0);
        }
        out.push([...b.bytes.subarray(o, o + l)]);
      }
      c.release();
      n += k;
    }
    return out;
  };
}
const collect = collector('record');

for (const mode of MODES) {
  const collect = collector(mode);
  for (const mirrored of [true, false]) {
    const how = mirrored ? 'double-mapped' : 'mapped once';

    test(`ringbuf (${how}): records in order with their bytes; consumer_pos written back [${mode}]`, () => {
      const rb = new FakeRingbuf(256, mirrored);
      const c = rb.consumer();
      for (let i = 0; i < 5; i++) assert.ok(rb.output(rec(i, 3 + i)));
      assert.is(c.available(), 5 * 16);
      assert.equal(collect(c), [0, 1, 2, 3, 4].map((i) => [...rec(i, 3 + i)]));
      assert.is(rb.cons[0], 80n);
      assert.is(c.position, 80);
      assert.is(c.available(), 0);
      assert.equal(collect(c), [], 'nothing new');
    });

    test(`ringbuf (${how}): records that wrap around the ring's end [${mode}]`, () => {
      const rb = new FakeRingbuf(64, mirrored);
      const c = rb.consumer();
      const seen: number[][] = [];
      const sent: number[][] = [];
      // 20-byte records take 32 bytes with their header and padding; 28-byte ones 40: their
      // data crosses the end of a 64-byte ring at varying offsets
      for (let i = 0; i < 40; i++) {
        const r = rec(i, i % 2 ? 20 : 28);
        assert.ok(rb.output(r), `record ${i} fits`);
        sent.push([...r]);
        seen.push(...collect(c));
      }
      assert.equal(seen, sent);
      assert.ok(rb.cons[0] > 64n * 10n, 'went round many times');
    });

    test(`ringbuf (${how}): discarded records are skipped, and the consumer moves past them [${mode}]`, () => {
      const rb = new FakeRingbuf(128, mirrored);
      const c = rb.consumer();
      const a = rb.reserve(8)!, b = rb.reserve(8)!, d = rb.reserve(8)!;
      rb.commit(a, rec(1, 8));
      rb.commit(b, rec(2, 8), true);
      rb.commit(d, rec(3, 8));
      assert.equal(collect(c), [[...rec(1, 8)], [...rec(3, 8)]]);
      assert.is(rb.cons[0], 48n);
    });

    test(`ringbuf (${how}): a busy record stops the read until it is committed [${mode}]`, () => {
      const rb = new FakeRingbuf(128, mirrored);
      const c = rb.consumer();
      rb.output(rec(1, 4));
      const busy = rb.reserve(12)!;
      rb.output(rec(3, 4)); // committed behind the busy one
      assert.equal(collect(c), [[...rec(1, 4)]]);
      assert.is(rb.cons[0], 16n, 'consumer stops before the busy record');
      assert.equal(collect(c), [], 'still busy');
      rb.commit(busy, rec(2, 12));
      assert.equal(collect(c), [[...rec(2, 12)], [...rec(3, 4)]]);
      assert.is(rb.cons[0], BigInt(16 + 24 + 16));
    });
  }

  test(`ringbuf: max records per call; the consumer starts where consumer_pos is [${mode}]`, () => {
    const rb = new FakeRingbuf(256, true);
    for (let i = 0; i < 6; i++) rb.output(rec(i, 8));
    const c = rb.consumer();
    assert.is(collect(c, 2).length, 2);
    assert.is(rb.cons[0], 32n);
    const again = rb.consumer(); // a second reader of the same map picks up at consumer_pos
    assert.equal(collect(again), [2, 3, 4, 5].map((i) => [...rec(i, 8)]));
  });
}

test('ringbuf: a visitor that throws consumes its record (as libbpf) and the error passes through', () => {
  const rb = new FakeRingbuf(256, true);
  for (let i = 0; i < 3; i++) rb.output(rec(i, 8));
  const c = rb.consumer();
  let calls = 0;
  assert.throws(() => c.consume(() => { if (++calls === 2) throw new Error('boom'); }), /boom/);
  assert.is(rb.cons[0], 32n);
  assert.equal(collect(c), [[...rec(2, 8)]]);
});

test('ringbuf: detach inside the visitor ends the loop and nothing is read or written after it', () => {
  const rb = new FakeRingbuf(256, true);
  for (let i = 0; i < 4; i++) rb.output(rec(i, 8));
  const c = rb.consumer();
  let calls = 0;
  const n = c.consume(() => { calls++; c.detach(); });
  assert.is(n, 1);
  assert.is(calls, 1);
  assert.is(rb.cons[0], 0n, 'consumer_pos untouched once detached');
  assert.is(c.consume(() => assert.unreachable()), 0);
  assert.is(c.available(), 0);
});

test('ringbuf: a record longer than what was produced is a RingError', () => {
  const rb = new FakeRingbuf(128, true);
  rb.word(0, 100);
  rb.prod[0] = 16n;
  const e = (() => { try { rb.consumer().consume(() => {}); } catch (x) { return x; } })();
  assert.instance(e, RingError);
  assert.instance(e, TsbpfError);
  assert.match((e as Error).message, /100 bytes at position 0 runs past the producer position 16/);
});

test('ringbuf: sizes that are not powers of two are refused', () => {
  assert.throws(() => new RingbufConsumer(new BigUint64Array(1), new BigUint64Array(1), new Uint8Array(96), 96), /power of two/);
  assert.throws(() => new RingbufConsumer(new BigUint64Array(1), new BigUint64Array(1), new Uint8Array(100), 64), /expected 64 or 128/);
});

/** One CPU's perf buffer: metadata page (data_head, data_tail) and `size` data bytes. */
class FakePerf {
  meta = new BigUint64Array(4096 / 8);
  data: Uint8Array;
  dv: DataView;
  constructor(readonly size: number) {
    this.data = new Uint8Array(size);
    this.dv = new DataView(this.data.buffer);
  }
  get head(): number { return Number(this.meta[PERF_MMAP_DATA_HEAD / 8]); }
  get tail(): number { return Number(this.meta[PERF_MMAP_DATA_TAIL / 8]); }
  consumer(): PerfConsumer { return new PerfConsumer(this.meta, this.data); }
  put(pos: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.data[(pos + i) % this.size] = bytes[i]!;
  }
  record(type: number, body: Uint8Array): boolean {
    const size = 8 + body.length;
    if (this.head + size - this.tail > this.size) return false;
    const h = new Uint8Array(8);
    const hv = new DataView(h.buffer);
    hv.setUint32(0, type, true);
    hv.setUint16(4, 0, true);
    hv.setUint16(6, size, true);
    this.put(this.head, h);
    this.put(this.head + 8, body);
    this.meta[PERF_MMAP_DATA_HEAD / 8] = BigInt(this.head + size);
    return true;
  }
  /** perf_event_output of a PERF_SAMPLE_RAW sample: raw size padded so the record is 8-aligned. */
  sample(raw: Uint8Array): boolean {
    const padded = Math.ceil((raw.length + 4) / 8) * 8 - 4;
    const body = new Uint8Array(4 + padded);
    new DataView(body.buffer).setUint32(0, padded, true);
    body.set(raw, 4);
    return this.record(PERF_RECORD_SAMPLE, body);
  }
  lost(n: number): void {
    const body = new Uint8Array(16);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, 7n, true); // id
    v.setBigUint64(8, BigInt(n), true);
    this.record(PERF_RECORD_LOST, body);
  }
}

const pad = (r: Uint8Array) => [...r, ...new Array(Math.ceil((r.length + 4) / 8) * 8 - 4 - r.length).fill(0)];

for (const mode of MODES) {
  const collect = collector(mode);
  test(`perf: raw samples in order (length padded by the kernel), data_tail written back [${mode}]`, () => {
    const pb = new FakePerf(4096);
    const c = pb.consumer();
    const sent = [rec(0, 16), rec(1, 4), rec(2, 5), rec(3, 60)];
    for (const r of sent) assert.ok(pb.sample(r));
    assert.is(c.available(), pb.head);
    assert.equal(collect(c), sent.map(pad));
    assert.is(pb.tail, pb.head);
    assert.equal(collect(c), []);
  });

  test(`perf: records wrap around the end: raw data split in two, the raw size word and a lost count at the start [${mode}]`, () => {
    const pb = new FakePerf(64);
    const c = pb.consumer();
    const seen: number[][] = [];
    const sent: number[][] = [];
    let lost = 0;
    // sample records of 24 / 32 / 40 bytes and lost records of 24 move the header to every
    // 8-byte offset of the ring: the raw size word, the data and the lost count each wrap
    for (let i = 0; i < 60; i++) {
      if (i % 7 === 3) { pb.lost(i); lost += i; continue; }
      const r = rec(i, [12, 20, 28][i % 3]!);
      assert.ok(pb.sample(r));
      sent.push(pad(r));
      seen.push(...collect(c));
    }
    seen.push(...collect(c));
    assert.equal(seen, sent);
    assert.is(c.lost, lost);
  });

  test(`perf: PERF_RECORD_LOST adds to lost and calls onLost; other record types are skipped [${mode}]`, () => {
    const pb = new FakePerf(1024);
    const c = pb.consumer();
    pb.sample(rec(1, 8));
    pb.lost(5);
    pb.record(14 /* PERF_RECORD_THROTTLE */, new Uint8Array(24));
    pb.lost(2 ** 33 + 1);
    pb.sample(rec(2, 8));
    const losses: number[] = [];
    c.onLost = (n) => losses.push(n);
    assert.equal(collect(c), [pad(rec(1, 8)), pad(rec(2, 8))]);
    assert.equal(losses, [5, 2 ** 33 + 1]);
    assert.is(c.lost, 5 + 2 ** 33 + 1);
    assert.is(pb.tail, pb.head);
  });

  test(`perf: max samples per call [${mode}]`, () => {
    const pb = new FakePerf(1024);
    for (let i = 0; i < 5; i++) pb.sample(rec(i, 8));
    const c = pb.consumer();
    assert.is(collect(c, 2).length, 2);
    assert.is(pb.tail, 2 * 24);
    assert.equal(collect(c), [2, 3, 4].map((i) => pad(rec(i, 8))));
  });
}

test('perf: detach inside the visitor stops without writing data_tail', () => {
    const pb = new FakePerf(1024);
    for (let i = 0; i < 5; i++) pb.sample(rec(i, 8));
    const c = pb.consumer();
    assert.is(collect(c, 2).length, 2);
    let calls = 0;
    assert.is(c.consume(() => { calls++; c.detach(); }), 1);
    assert.is(calls, 1);
    assert.is(pb.tail, 2 * 24);
    assert.is(c.consume(() => assert.unreachable()), 0);
});

for (const mode of MODES) {
  const collect = collector(mode);
  test(`perf: a zero-size or overlong record is a RingError [${mode}]`, () => {
    const pb = new FakePerf(1024);
    pb.record(PERF_RECORD_SAMPLE, new Uint8Array(8));
    new DataView(pb.data.buffer).setUint16(6, 0, true);
    assert.throws(() => collect(pb.consumer()), (e: Error) => e instanceof RingError && /record of 0 bytes at position 0/.test(e.message));
    const pb2 = new FakePerf(1024);
    const body = new Uint8Array(8);
    new DataView(body.buffer).setUint32(0, 400, true);
    pb2.record(PERF_RECORD_SAMPLE, body);
    assert.throws(() => collect(pb2.consumer()), (e: Error) => e instanceof RingError && /400 raw bytes in a record of 16/.test(e.message));
  });


  for (const mirrored of [true, false]) {
    test(`user ringbuf producer (${mirrored ? 'double-mapped' : 'mapped once'}): what it writes is what a ringbuf consumer reads, discards skipped [${mode}]`, () => {
      const size = 64;
      const cons = new BigUint64Array(1), prod = new BigUint64Array(1);
      const data = new Uint8Array(mirrored ? 2 * size : size);
      const p = new RingbufProducer(cons, prod, data, size);
      const seen: number[][] = [];
      const sent: number[][] = [];
      // a double mapping shows every byte in both halves: after each write, copy the bytes
      // that changed in one half into the other (both halves were equal before it)
      const sync = (snap: Uint8Array) => {
        if (!mirrored) return;
        for (let o = 0; o < size; o++) {
          if (data[o] !== snap[o]) data[o + size] = data[o]!;
          else if (data[o + size] !== snap[o]) data[o] = data[o + size]!;
        }
      };
      for (let i = 0; i < 30; i++) {
        const snap = data.slice(0, size);
        const r = rec(i, [4, 13, 20][i % 3]!);
        if (i % 5 === 4) {
          const off = p.reserve(r.length)!;
          p.fill(off, r);
          p.submit(off, true);
        } else {
          assert.ok(p.write(r), `record ${i}`);
          sent.push([...r]);
        }
        sync(snap);
        seen.push(...collect(new RingbufConsumer(cons, prod, data, size)));
      }
      assert.equal(seen, sent);
    });
  }
}

test('user ringbuf producer: full ring, oversized records, flag bits, double submit', () => {
  const size = 64;
  const cons = new BigUint64Array(1), prod = new BigUint64Array(1);
  const p = new RingbufProducer(cons, prod, new Uint8Array(2 * size), size);
  assert.is(RingbufProducer.recordBytes(13), 24);
  assert.ok(p.write(new Uint8Array(24))); // 32
  assert.ok(p.write(new Uint8Array(24))); // 64: full
  assert.is(p.free(), 0);
  assert.is(p.write(new Uint8Array(1)), false, 'no room: false, nothing written');
  assert.is(prod[0], 64n);
  cons[0] = 32n; // the kernel drained one
  assert.is(p.free(), 32);
  const off = p.reserve(8)!;
  p.submit(off);
  assert.throws(() => p.submit(off), /not reserved/);
  assert.throws(() => p.reserve(64), /does not fit in a ring of 64/);
  assert.throws(() => p.reserve(BPF_RINGBUF_BUSY_BIT), /two top bits/);
  p.detach();
  assert.throws(() => p.reserve(1), /closed/);
});

test('ringbuf batches: next() without release() sees the same records; release(k) frees up to record k; discards after the batch go with it', () => {
  const rb = new FakeRingbuf(256, true);
  const c = rb.consumer();
  const at = [rb.reserve(8)!, rb.reserve(8)!, rb.reserve(8)!, rb.reserve(8)!];
  rb.commit(at[0]!, rec(0, 8));
  rb.commit(at[1]!, rec(1, 8));
  rb.commit(at[2]!, rec(2, 8));
  rb.commit(at[3]!, rec(3, 8), true);
  assert.is(c.next(), 3);
  assert.is(c.next(), 3, 'nothing released: the same batch again');
  assert.equal([...c.batch.offsets.subarray(0, 3)], [8, 24, 40]);
  assert.equal([...c.batch.lengths.subarray(0, 3)], [8, 8, 8]);
  assert.is(rb.cons[0], 0n);
  c.release(1);
  assert.is(rb.cons[0], 16n, 'past record 0 only');
  assert.is(c.next(), 2);
  assert.equal([...c.batch.bytes.subarray(c.batch.offsets[0]!, c.batch.offsets[0]! + 8)], [...rec(1, 8)]);
  c.release();
  assert.is(rb.cons[0], 64n, 'the whole batch and the discarded record after it');
  // a walk that finds only discarded records hands their space back at once
  rb.commit(rb.reserve(8)!, rec(4, 8), true);
  assert.is(c.next(), 0);
  assert.is(rb.cons[0], 80n);
});

test('ringbuf batches: the capacity, max and maxBytes bound a batch; copy() holds its stretch of bytes', () => {
  const cons = new BigUint64Array(1), prod = new BigUint64Array(1);
  const data = new Uint8Array(2 * 1024);
  const fake = Object.assign(new FakeRingbuf(1024, true), { cons, prod, data });
  for (let i = 0; i < 20; i++) fake.output(rec(i, 5 + (i % 3)));
  const c = new RingbufConsumer(cons, prod, data, 1024, 8);
  assert.is(c.next(), 8, 'capacity 8');
  assert.is(c.next(3), 3);
  assert.is(c.next(Infinity, 40), 3, 'records of 16 bytes: the third one starts at 32 < 40');
  const copy = new Uint8Array(c.batch.copy());
  for (let i = 0; i < 3; i++) {
    const o = c.batch.offsets[i]! - c.batch.offsets[0]!;
    assert.equal([...copy.subarray(o, o + c.batch.lengths[i]!)], [...rec(i, 5 + (i % 3))]);
  }
});

test('ringbuf batches: double-mapped, a batch runs on into the second mapping; mapped once, it ends at the ring end and a wrapping record comes alone', () => {
  for (const mirrored of [true, false]) {
    const rb = new FakeRingbuf(64, mirrored);
    const c = rb.consumer();
    rb.output(rec(0, 24)); // 32 bytes
    assert.is(c.next(), 1);
    c.release();
    rb.output(rec(1, 8)); // 32..48
    rb.output(rec(2, 20)); // 48..80: data 56..76 crosses the end
    rb.output(rec(3, 4)); // 16..32
    const batches: number[][] = [];
    for (let k; (k = c.next()) > 0; c.release()) batches.push([...c.batch.offsets.subarray(0, k)]);
    if (mirrored) assert.equal(batches, [[40, 56, 88]], 'one batch, on into the mirror');
    else assert.equal(batches, [[40], [0], [24]], 'the wrapping record alone, at offset 0 of its scratch copy');
    assert.is(rb.cons[0], 96n);
  }
});

test('ringbuf batches: the records before a broken one come out first, then the RingError', () => {
  const rb = new FakeRingbuf(128, true);
  rb.output(rec(0, 8));
  rb.word(16, 100);
  rb.prod[0] = 32n;
  const c = rb.consumer();
  assert.is(c.next(), 1);
  c.release();
  assert.throws(() => c.next(), (e: Error) => e instanceof RingError && /100 bytes at position 16/.test(e.message));
});

test('perf batches: a wrapping sample comes alone; release(k) writes data_tail past sample k; a lost record walked again is counted once', () => {
  const pb = new FakePerf(128);
  const c = pb.consumer();
  pb.sample(rec(0, 28)); // 40 bytes at 0
  c.consume(() => {});
  pb.sample(rec(1, 20)); // 32 at 40..72
  pb.lost(3); // 24 at 72..96
  pb.sample(rec(2, 20)); // 96..128
  pb.sample(rec(3, 20)); // 128..160: at 0..32
  assert.is(c.next(), 2);
  assert.equal([...c.batch.offsets.subarray(0, 2)], [52, 108]);
  assert.is(c.lost, 3);
  c.release(1);
  assert.is(pb.tail, 72, 'past sample 1 only: the lost record is walked again');
  assert.is(c.next(), 1);
  assert.is(c.lost, 3, 'and not counted twice');
  c.release();
  assert.is(pb.tail, 128);
  assert.equal(collect(c), [pad(rec(3, 20))]);
  // a sample whose data wraps: alone, in a scratch copy
  pb.sample(rec(4, 68)); // 80 bytes at 32..112
  c.consume(() => {});
  pb.sample(rec(6, 28)); // 40 at 112..152: header and size word before the end, data 124..152 split
  pb.sample(rec(7, 4)); // 16 at 24..40
  const seen: number[][] = [];
  const first: number[][] = [];
  for (let k; (k = c.next()) > 0; c.release()) {
    seen.push([...c.batch.offsets.subarray(0, k)]);
    first.push([...c.batch.bytes.subarray(c.batch.offsets[0]!, c.batch.offsets[0]! + c.batch.lengths[0]!)]);
  }
  assert.equal(seen, [[0], [36]]);
  assert.equal(first, [pad(rec(6, 28)), pad(rec(7, 4))]);
  assert.is(pb.tail, 296);
});

/** A small deterministic generator (xorshift) for the randomised comparison below. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

for (const mirrored of [true, false]) {
  test(`ringbuf (${mirrored ? 'double-mapped' : 'mapped once'}): per record and by batches give the same records over random traffic (sizes, discards, busy records, partial drains)`, () => {
    const r = rng(mirrored ? 7 : 11);
    const a = new FakeRingbuf(512, mirrored), b = new FakeRingbuf(512, mirrored);
    const ca = a.consumer(), cb = b.consumer();
    const byRecord = collector('record'), byBatch = collector('batch');
    const gotA: number[][] = [], gotB: number[][] = [], sent: number[][] = [];
    let busy: Array<[number, number, Uint8Array, boolean]> = [];
    for (let step = 0; step < 3000; step++) {
      const x = r();
      if (x < 0.6) {
        const bytes = rec(step, 1 + Math.floor(r() * 60));
        const discard = r() < 0.2, hold = r() < 0.1;
        const pa = a.reserve(bytes.length), pbb = b.reserve(bytes.length);
        if (pa === undefined) { assert.is(pbb, undefined); continue; }
        if (hold) busy.push([pa, pbb!, bytes, discard]);
        else { a.commit(pa, bytes, discard); b.commit(pbb!, bytes, discard); }
        if (!discard) sent.push([...bytes]);
      } else if (x < 0.7) {
        for (const [pa, pbb, bytes, discard] of busy) { a.commit(pa, bytes, discard); b.commit(pbb, bytes, discard); }
        busy = [];
      } else {
        const max = r() < 0.5 ? Infinity : 1 + Math.floor(r() * 5);
        gotA.push(...byRecord(ca, max));
        gotB.push(...byBatch(cb, max));
        assert.is(a.cons[0], b.cons[0]);
      }
    }
    for (const [pa, pbb, bytes, discard] of busy) { a.commit(pa, bytes, discard); b.commit(pbb, bytes, discard); }
    gotA.push(...byRecord(ca));
    gotB.push(...byBatch(cb));
    assert.equal(gotB, gotA);
    assert.equal(gotA, sent.filter((_, i) => i < gotA.length));
    assert.is(gotA.length, sent.length);
  });
}

test('perf: per record and by batches give the same samples and lost counts over random traffic', () => {
  const r = rng(5);
  const a = new FakePerf(512), b = new FakePerf(512);
  const ca = a.consumer(), cb = b.consumer();
  const byRecord = collector('record'), byBatch = collector('batch');
  const gotA: number[][] = [], gotB: number[][] = [];
  let sent = 0;
  for (let step = 0; step < 3000; step++) {
    const x = r();
    if (x < 0.6) {
      const bytes = rec(step, 1 + Math.floor(r() * 60));
      const okA = a.sample(bytes), okB = b.sample(bytes);
      assert.is(okA, okB);
      if (okA) sent++;
    } else if (x < 0.65) { a.lost(step); b.lost(step); } else {
      const max = r() < 0.5 ? Infinity : 1 + Math.floor(r() * 5);
      gotA.push(...byRecord(ca, max));
      gotB.push(...byBatch(cb, max));
      assert.is(a.tail, b.tail);
    }
  }
  gotA.push(...byRecord(ca));
  gotB.push(...byBatch(cb));
  assert.equal(gotB, gotA);
  assert.is(gotA.length, sent);
  assert.is(cb.lost, ca.lost);
});

test.run();
