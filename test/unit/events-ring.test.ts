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

function collect(c: { consume(v: (b: Uint8Array, s: number, l: number) => void, max?: number): number }, max?: number): number[][] {
  const out: number[][] = [];
  c.consume((b, s, l) => out.push([...b.subarray(s, s + l)]), max);
  return out;
}

for (const mirrored of [true, false]) {
  const how = mirrored ? 'double-mapped' : 'mapped once';

  test(`ringbuf (${how}): records in order with their bytes; consumer_pos written back`, () => {
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

  test(`ringbuf (${how}): records that wrap around the ring's end`, () => {
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

  test(`ringbuf (${how}): discarded records are skipped, and the consumer moves past them`, () => {
    const rb = new FakeRingbuf(128, mirrored);
    const c = rb.consumer();
    const a = rb.reserve(8)!, b = rb.reserve(8)!, d = rb.reserve(8)!;
    rb.commit(a, rec(1, 8));
    rb.commit(b, rec(2, 8), true);
    rb.commit(d, rec(3, 8));
    assert.equal(collect(c), [[...rec(1, 8)], [...rec(3, 8)]]);
    assert.is(rb.cons[0], 48n);
  });

  test(`ringbuf (${how}): a busy record stops the read until it is committed`, () => {
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

test('ringbuf: max records per call; the consumer starts where consumer_pos is', () => {
  const rb = new FakeRingbuf(256, true);
  for (let i = 0; i < 6; i++) rb.output(rec(i, 8));
  const c = rb.consumer();
  assert.is(collect(c, 2).length, 2);
  assert.is(rb.cons[0], 32n);
  const again = rb.consumer(); // a second reader of the same map picks up at consumer_pos
  assert.equal(collect(again), [2, 3, 4, 5].map((i) => [...rec(i, 8)]));
});

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

test('perf: raw samples in order (length padded by the kernel), data_tail written back', () => {
  const pb = new FakePerf(4096);
  const c = pb.consumer();
  const sent = [rec(0, 16), rec(1, 4), rec(2, 5), rec(3, 60)];
  for (const r of sent) assert.ok(pb.sample(r));
  assert.is(c.available(), pb.head);
  assert.equal(collect(c), sent.map(pad));
  assert.is(pb.tail, pb.head);
  assert.equal(collect(c), []);
});

test('perf: records wrap around the end: raw data split in two, the raw size word and a lost count at the start', () => {
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

test('perf: PERF_RECORD_LOST adds to lost and calls onLost; other record types are skipped', () => {
  const pb = new FakePerf(1024);
  const c = pb.consumer();
  pb.sample(rec(1, 8));
  pb.lost(5);
  pb.record(14 /* PERF_RECORD_THROTTLE */, new Uint8Array(24));
  pb.lost(2 ** 33 + 1);
  pb.sample(rec(2, 8));
  const losses: number[] = [];
  const got: number[][] = [];
  assert.is(c.consume((b, s, l) => got.push([...b.subarray(s, s + l)]), Infinity, (n) => losses.push(n)), 2);
  assert.equal(got, [pad(rec(1, 8)), pad(rec(2, 8))]);
  assert.equal(losses, [5, 2 ** 33 + 1]);
  assert.is(c.lost, 5 + 2 ** 33 + 1);
  assert.is(pb.tail, pb.head);
});

test('perf: max samples per call; detach inside the visitor stops without writing data_tail', () => {
  const pb = new FakePerf(1024);
  for (let i = 0; i < 5; i++) pb.sample(rec(i, 8));
  const c = pb.consumer();
  assert.is(collect(c, 2).length, 2);
  assert.is(pb.tail, 2 * 24);
  let calls = 0;
  assert.is(c.consume(() => { calls++; c.detach(); }), 1);
  assert.is(calls, 1);
  assert.is(pb.tail, 2 * 24);
  assert.is(c.consume(() => assert.unreachable()), 0);
});

test('perf: a zero-size or overlong record is a RingError', () => {
  const pb = new FakePerf(1024);
  pb.record(PERF_RECORD_SAMPLE, new Uint8Array(8));
  new DataView(pb.data.buffer).setUint16(6, 0, true);
  assert.throws(() => pb.consumer().consume(() => {}), (e: Error) => e instanceof RingError && /record of 0 bytes at position 0/.test(e.message));
  const pb2 = new FakePerf(1024);
  const body = new Uint8Array(8);
  new DataView(body.buffer).setUint32(0, 400, true);
  pb2.record(PERF_RECORD_SAMPLE, body);
  assert.throws(() => pb2.consumer().consume(() => {}), (e: Error) => e instanceof RingError && /400 raw bytes in a record of 16/.test(e.message));
});

for (const mirrored of [true, false]) {
  test(`user ringbuf producer (${mirrored ? 'double-mapped' : 'mapped once'}): what it writes is what a ringbuf consumer reads, discards skipped`, () => {
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

test('read() without commit() keeps the space: the producer sees it as used until commit(); copyRange copies across the end', () => {
  const rb = new FakeRingbuf(64, true);
  const c = rb.consumer();
  rb.output(rec(1, 20)); rb.output(rec(2, 4)); // 32 + 16 bytes
  const pos: number[] = [];
  assert.is(c.read((_b, _s, _l, p) => pos.push(p)), 2);
  assert.equal(pos, [8, 40], 'data positions (after each 8-byte header)');
  assert.is(rb.cons[0], 0n, 'not committed yet');
  assert.is(rb.reserve(24), undefined, 'the producer has no room until commit (48 + 32 > 64)');
  c.commit();
  assert.is(rb.cons[0], 48n);
  assert.ok(rb.output(rec(3, 24)), 'room again');
  const at: number[] = [];
  c.read((_b, _s, _l, p) => at.push(p));
  // record 3 sits at positions 48..80: its data (56..80) crosses the end of the 64-byte ring
  const copy = new Uint8Array(c.copyRange(at[0]!, at[0]! + 24));
  assert.equal([...copy], [...rec(3, 24)]);
  c.commit();
  const once = new FakeRingbuf(64, false);
  const c1 = once.consumer();
  once.output(rec(1, 40)); c1.consume(() => {});
  once.output(rec(4, 24));
  const p1: number[] = [];
  c1.read((_b, _s, _l, p) => p1.push(p));
  assert.equal([...new Uint8Array(c1.copyRange(p1[0]!, p1[0]! + 24))], [...rec(4, 24)], 'mapped once: copied in two pieces');
});

test('perf: read() / commit() and copyRange of a sample whose data wraps', () => {
  const pb = new FakePerf(64);
  const c = pb.consumer();
  pb.sample(rec(1, 28)); // 40 bytes
  c.consume(() => {});
  pb.sample(rec(2, 20)); // 8 + 4 + 20 = 32 bytes at 40..72: raw data 52..72 wraps
  const at: number[] = [];
  assert.is(c.read((_b, _s, l, p) => at.push(p, l)), 1);
  assert.is(pb.tail, 40, 'data_tail unchanged before commit');
  assert.equal([...new Uint8Array(c.copyRange(at[0]!, at[0]! + at[1]!))], pad(rec(2, 20)));
  c.commit();
  assert.is(pb.tail, 72);
});

test.run();
