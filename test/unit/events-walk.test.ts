// The consumers' fast walks (src/events/walk.ts) on their own, over plain memory: where they
// stop (busy record, max, the end of the committed bytes, anything a perf walk leaves to the
// general loop) and what they write into the batch's arrays.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsWalker, type RingWalker } from '../../src/events/walk.js';
import { WasmWalker, walkerModuleBytes, walkerScratchBytes } from '../../src/events/walk-wasm.js';
import { newWasmMemory } from '../../src/wasm/runtime.js';
import {
  BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, PERF_EVENT_HEADER_SIZE, PERF_EVENT_HEADER_SIZE_OFFSET,
  PERF_RECORD_LOST, PERF_RECORD_SAMPLE, PERF_SAMPLE_RAW_DATA_OFFSET, RINGBUF_RECORD_ALIGN,
} from '../../src/events/abi.js';

interface Setup { walker: RingWalker; data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array }
type Make = (dataBytes: number, capacity: number) => Setup;

const WALKERS: Array<[string, Make]> = [
  ['js', (dataBytes, capacity) => {
    const data = new Uint8Array(dataBytes);
    const offsets = new Uint32Array(capacity);
    const lengths = new Uint32Array(capacity);
    return { walker: new JsWalker(new Int32Array(data.buffer), offsets, lengths), data, offsets, lengths };
  }],
  ['wasm', (dataBytes, capacity) => {
    // as a reader lays it out: the walker's scratch first, the ring's data page-aligned after it
    const at = Math.ceil(walkerScratchBytes(capacity) / 4096) * 4096;
    const memory = newWasmMemory(at + dataBytes + 65536);
    const walker = new WasmWalker(memory, 0, capacity, at);
    new Uint8Array(memory.buffer).fill(0xee, at + dataBytes); // past the data: never read as records
    return { walker, data: new Uint8Array(memory.buffer, at, dataBytes), offsets: walker.offsets, lengths: walker.lengths };
  }],
];

const ringRecordBytes = (len: number) => Math.ceil((len + BPF_RINGBUF_HDR_SZ) / RINGBUF_RECORD_ALIGN) * RINGBUF_RECORD_ALIGN;

/** Writes ring buffer records (length word with flags, then data) from offset 0; returns each record's offset. */
function ringRecords(data: Uint8Array, recs: Array<{ len: number; flags?: number }>): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  return recs.map(({ len, flags = 0 }) => {
    const at = off;
    v.setUint32(off, (len | flags) >>> 0, true);
    for (let i = 0; i < len; i++) data[off + BPF_RINGBUF_HDR_SZ + i] = (at + i) & 0xff;
    off += ringRecordBytes(len);
    return at;
  });
}

/** Writes perf records (header; samples: raw size word and data) from `start`; returns each record's offset. */
function perfRecords(data: Uint8Array, start: number, recs: Array<{ type: number; size: number; raw?: number }>): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = start;
  return recs.map(({ type, size, raw }) => {
    const at = off;
    v.setUint32(off, type, true);
    v.setUint16(off + PERF_EVENT_HEADER_SIZE_OFFSET, size, true);
    if (raw !== undefined) v.setUint32(off + PERF_EVENT_HEADER_SIZE, raw, true);
    off += size;
    return at;
  });
}

for (const [name, make] of WALKERS) {
  test(`${name} walker, ring buffer: committed records in order, discarded ones walked and not taken, a busy one ends the walk`, () => {
    const { walker, data, offsets, lengths } = make(4096, 16);
    const at = ringRecords(data, [{ len: 5 }, { len: 64 }, { len: 8, flags: BPF_RINGBUF_DISCARD_BIT }, { len: 13 }, { len: 7, flags: BPF_RINGBUF_BUSY_BIT }, { len: 3 }]);
    const n = walker.ringbuf(0, 4096, 16);
    assert.is(n, 3);
    assert.equal([...offsets.subarray(0, 3)], [at[0]! + 8, at[1]! + 8, at[3]! + 8]);
    assert.equal([...lengths.subarray(0, 3)], [5, 64, 13]);
    assert.is(walker.end, at[4]);
    assert.is(walker.last, at[3]);
  });

  test(`${name} walker, ring buffer: max records, and the end of the committed bytes`, () => {
    const { walker, data, offsets } = make(4096, 16);
    const at = ringRecords(data, [{ len: 16 }, { len: 16 }, { len: 16 }, { len: 16 }]);
    assert.is(walker.ringbuf(0, 4096, 2), 2);
    assert.is(walker.end, at[2]);
    // stop inside the third record: it is walked (the consumer checks it against producer_pos)
    assert.is(walker.ringbuf(at[1]!, at[2]! + 4, 16), 2);
    assert.equal([...offsets.subarray(0, 2)], [at[1]! + 8, at[2]! + 8]);
    assert.is(walker.end, at[3]);
    assert.is(walker.last, at[2]);
    assert.is(walker.ringbuf(at[3]!, at[3]!, 16), 0, 'nothing committed: nothing walked');
    assert.is(walker.end, at[3]);
  });

  test(`${name} walker, perf buffer: samples in order from index n; stops before a lost record, a record crossing the end, or sizes that make no sense`, () => {
    const { walker, data, offsets, lengths } = make(1024, 16);
    const S = PERF_RECORD_SAMPLE;
    const at = perfRecords(data, 64, [{ type: S, size: 24, raw: 12 }, { type: S, size: 80, raw: 68 }, { type: PERF_RECORD_LOST, size: 24 }]);
    assert.is(walker.perf(64, 1024, 2, 16, 1024), 4);
    assert.equal([...offsets.subarray(2, 4)], [at[0]! + PERF_SAMPLE_RAW_DATA_OFFSET, at[1]! + PERF_SAMPLE_RAW_DATA_OFFSET]);
    assert.equal([...lengths.subarray(2, 4)], [12, 68]);
    assert.is(walker.end, at[2], 'stops at the lost record');

    const cases: Array<[string, { type: number; size: number; raw?: number }]> = [
      ['crosses the ring end', { type: S, size: 48, raw: 36 }],
      ['too small for a sample', { type: S, size: 8 }],
      ['raw size past its record', { type: S, size: 24, raw: 40 }],
      ['raw size with the top bit set', { type: S, size: 24, raw: 0x8000_0000 }],
    ];
    for (const [what, r] of cases) {
      data.fill(0);
      const [a, b] = perfRecords(data, 1024 - 64 - 32, [{ type: S, size: 64, raw: 50 }, r]);
      assert.is(walker.perf(a!, 1024 + 512, 0, 16, 1024), 1, what);
      assert.is(walker.end, b, what);
    }
    data.fill(0);
    perfRecords(data, 0, [{ type: S, size: 24, raw: 12 }, { type: S, size: 24, raw: 12 }, { type: S, size: 24, raw: 12 }]);
    assert.is(walker.perf(0, 40, 0, 16, 1024), 1, 'a record that runs past stop is left');
    assert.is(walker.end, 24);
    assert.is(walker.perf(0, 1024, 0, 2, 1024), 2, 'max');
    assert.is(walker.end, 48);
  });

  test(`${name} walker, ring buffer: runs of records with one length word, broken by another size, a discarded, a busy record; max and stop inside a run`, () => {
    const { walker, data, offsets, lengths } = make(4096, 64);
    const D = BPF_RINGBUF_DISCARD_BIT;
    const recs: Array<{ len: number; flags?: number }> = [
      ...Array.from({ length: 5 }, () => ({ len: 64 })), { len: 20 }, ...Array.from({ length: 3 }, () => ({ len: 64 })),
      { len: 64, flags: D }, { len: 64, flags: D }, { len: 64 }, { len: 64 }, { len: 64, flags: BPF_RINGBUF_BUSY_BIT }, { len: 64 },
    ];
    const at = ringRecords(data, recs);
    const taken = recs.map((r, i) => [r, i] as const).filter(([r]) => !r.flags).map(([, i]) => i).filter((i) => i < 13);
    assert.is(walker.ringbuf(0, 4096, 64), taken.length);
    assert.equal([...offsets.subarray(0, taken.length)], taken.map((i) => at[i]! + BPF_RINGBUF_HDR_SZ));
    assert.equal([...lengths.subarray(0, taken.length)], taken.map((i) => recs[i]!.len));
    assert.is(walker.end, at[13], 'stops at the busy record');
    assert.is(walker.last, at[12]);
    for (let max = 1; max <= taken.length; max++) {
      assert.is(walker.ringbuf(0, 4096, max), max, `max ${max}`);
      assert.is(walker.last, at[taken[max - 1]!], `max ${max}: last`);
      const discardedAfter = walker.end > walker.last + ringRecordBytes(recs[taken[max - 1]!]!.len);
      assert.not.ok(discardedAfter, `max ${max}: the walk ends after its last record`);
    }
    // stop inside the run of 64-byte records after the short one: the record at stop's left is walked
    assert.is(walker.ringbuf(0, at[7]! + 1, 64), 8);
    assert.is(walker.end, at[8]);
    assert.is(walker.last, at[7]);
    // a discarded run at the end of the walk: walked, not taken
    assert.is(walker.ringbuf(at[8]!, at[11]!, 64), 1);
    assert.is(walker.end, at[11]);
    assert.is(walker.last, at[10]);
  });

  test(`${name} walker, perf buffer: runs of samples with one header and raw size, broken by another size, another misc, another raw size, a lost record, the ring's end`, () => {
    const { walker, data, offsets, lengths } = make(1024, 64);
    const S = PERF_RECORD_SAMPLE;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const recs = [
      { type: S, size: 32, raw: 20 }, { type: S, size: 32, raw: 20 }, { type: S, size: 32, raw: 20 },
      { type: S, size: 40, raw: 28 }, { type: S, size: 40, raw: 28 },
      { type: S, size: 40, raw: 28 }, // misc differs (set below)
      { type: S, size: 40, raw: 24 }, { type: S, size: 40, raw: 28 },
      { type: PERF_RECORD_LOST, size: 40 },
    ];
    const at = perfRecords(data, 0, recs);
    v.setUint16(at[5]! + 4, 2, true); // misc: PERF_RECORD_MISC_USER
    assert.is(walker.perf(0, 1024, 0, 64, 1024), 8);
    assert.equal([...offsets.subarray(0, 8)], at.slice(0, 8).map((a) => a + PERF_SAMPLE_RAW_DATA_OFFSET));
    assert.equal([...lengths.subarray(0, 8)], recs.slice(0, 8).map((r) => r.raw));
    assert.is(walker.end, at[8], 'stops at the lost record');
    for (let max = 1; max <= 8; max++) {
      assert.is(walker.perf(0, 1024, 0, max, 1024), max, `max ${max}`);
      assert.is(walker.end, at[max], `max ${max}: end`);
    }
    assert.is(walker.perf(0, at[2]! + 31, 0, 64, 1024), 2, 'a sample of the run that runs past stop is left');
    assert.is(walker.end, at[2]);
    // a run up to the ring's end: the sample that crosses it is left to the consumer
    data.fill(0);
    const end = perfRecords(data, 1024 - 4 * 48 - 24, Array.from({ length: 5 }, () => ({ type: S, size: 48, raw: 36 })));
    assert.is(walker.perf(end[0]!, 2048, 3, 64, 1024), 7);
    assert.equal([...offsets.subarray(3, 7)], end.slice(0, 4).map((a) => a + PERF_SAMPLE_RAW_DATA_OFFSET));
    assert.is(walker.end, end[4]);
  });
}

test('the walks\' literals are the uapi constants', () => {
  assert.is(BPF_RINGBUF_BUSY_BIT, 0x8000_0000);
  assert.is(BPF_RINGBUF_DISCARD_BIT, 1 << 30);
  assert.is(~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) >>> 0, 0x3fffffff);
  assert.is(BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1, 15);
  assert.is(~(RINGBUF_RECORD_ALIGN - 1), ~7);
  assert.is(PERF_RECORD_SAMPLE, 9);
  assert.is(PERF_EVENT_HEADER_SIZE_OFFSET, 6);
  assert.is(PERF_SAMPLE_RAW_DATA_OFFSET, 12);
});

/**
 * The walker module's bytes as its builder emitted them when the test was written: a refactor of the builder must not change them.
 * Changed on purpose once: each walk got its run loop (records with the same header, RUNS in walk.ts).
 */
const WALKER_MODULE_BASE64 =
  'AGFzbQEAAAABGAJgB39/f39/f38Bf2AIf39/f39/f38BfwIKAQFtA21lbQIAAQMDAgABBxICB3JpbmdidWYAAARwZXJmAAEK2AMC2gEBBn8gACEKAkADQCAHIAJPDQEgACABTw0BIAAoAgAiCEEASA0BIAhB/////wNxIQkgCUEPakF4cSELQQEgCEEedmshDCADIAdBAnRqIABBCGogBWs2AgAgBCAHQQJ0aiAJNgIAIAcgDGohByAAIQogACALaiEAA0AgByACTw0CIAAgAU8NAiAAKAIAIAhHDQEgAyAHQQJ0aiAAQQhqIAVrNgIAIAQgB0ECdGogCTYCACAHIAxqIQcgACEKIAAgC2ohAAwACwwACwsgBiAANgIAIAYgCjYCBCAHC/kBAQR/AkADQCACIANPDQEgACABTw0BIAAoAgBBCUcNASAAKAIEIgtBEHYiCCAAaiEJIAhBEEkNASAJIAFLDQEgACgCCCIKQQBIDQEgCkEMaiAISw0BIAQgAkECdGogAEEMaiAGazYCACAFIAJBAnRqIAo2AgAgAkEBaiECIAAgCGohAANAIAIgA08NAiAAIAhqIAFLDQEgACgCAEEJRw0BIAAoAgQgC0cNASAAKAIIIApHDQEgBCACQQJ0aiAAQQxqIAZrNgIAIAUgAkECdGogCjYCACACQQFqIQIgACAIaiEADAALDAALCyAHIAA2AgAgByAANgIEIAIL';

test('the walker module is the same bytes as before (a builder change must say so here), and valid WebAssembly', () => {
  assert.is(Buffer.from(walkerModuleBytes()).toString('base64'), WALKER_MODULE_BASE64);
  assert.ok((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(walkerModuleBytes()));
});

test.run();
