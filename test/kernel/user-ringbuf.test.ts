// User ring buffers (Linux 6.1+): records written from here are drained by a BPF program
// (bpf_user_ringbuf_drain under BPF_PROG_TEST_RUN) that sums their first 8 bytes.
import * as assert from 'uvu/assert';
import { test as uvuTest } from 'uvu';
import { release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/index.js';
import { EventsError, UserRingBuffer } from '../../src/events/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { assertRefusal, objectRefusal } from '../helpers/requirements.js';

const suite = kernelSuite('user-ringbuf');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/user_ringbuf.bpf.o');
// BPF_MAP_TYPE_USER_RINGBUF: Linux 6.1 (bpf-objs/kernel-requirements.json). Before, the
// object's refusal is what this suite asserts; the cases below need the map.
const refused = objectRefusal('user_ringbuf.bpf.o');
if (refused) {
  suite.test(`user_ringbuf.bpf.o is refused on ${release()} as the requirements say`, () => assertRefusal(() => Collection.loadFile(file).close(), refused, 'user_ringbuf.bpf.o: '));
  if (suite.run) console.log(`# user-ringbuf (kernel): the cases that write records need the map (Linux ${refused.since}+): not run on ${release()}`);
}
const test = refused ? uvuTest.skip : suite.test;

const u64 = (v: number, len = 8) => { const b = Buffer.alloc(len); b.writeBigUInt64LE(BigInt(v)); return b; };
const drain = (c: Collection) => c.programs.get('drain')!.testRun({ data: new Uint8Array(64) }).retval;
const bss = (c: Collection) => c.maps.get('.bss')!.lookup(0) as { sum: bigint; count: bigint };

test('records written here are drained by the BPF program, in order, discarded ones skipped', () => {
  const c = Collection.loadFile(file);
  const w = UserRingBuffer.open(c.maps.get('user_ring')!);
  try {
    assert.is(w.size, 16384);
    assert.is(w.free, 16384);
    let sum = 0;
    for (let i = 1; i <= 100; i++) { assert.ok(w.write(u64(i, i % 2 ? 8 : 20))); sum += i; }
    const r = w.reserve(8)!;
    r.data.writeBigUInt64LE(1000n);
    r.discard();
    const r2 = w.reserve(16)!;
    r2.data.writeBigUInt64LE(7n);
    r2.submit();
    assert.throws(() => r2.submit(), (e: Error) => e instanceof EventsError && /already/.test(e.message));
    assert.is(drain(c), 101);
    assert.equal(bss(c), { sum: BigInt(sum + 7), count: 101n });
    assert.is(w.free, 16384, 'the kernel moved its consumer position past everything');
  } finally { w.close(); c.close(); }
});

test('a full ring: write() says false; writeWait() waits for the drain without blocking the event loop', async () => {
  const c = Collection.loadFile(file);
  const w = UserRingBuffer.open(c.maps.get('user_ring')!);
  try {
    let n = 0;
    while (w.write(u64(1))) n++;
    assert.is(n, 16384 / 16, 'records of 8 bytes take 16');
    assert.is(w.free, 0);
    assert.is(await w.writeWait(u64(5), { timeoutMs: 30 }), false, 'timeout while full');
    // the drain comes from the 5th tick of a 2 ms interval: it runs only if the event loop
    // keeps turning while writeWait waits
    let ticks = 0, drainedAt = Infinity;
    const iv = setInterval(() => { if (++ticks === 5) { drainedAt = performance.now(); drain(c); } }, 2);
    assert.is(await w.writeWait(u64(5), { timeoutMs: 10000 }), true);
    clearInterval(iv);
    assert.ok(performance.now() >= drainedAt, 'waited for the drain');
    assert.is(drain(c), 1);
    assert.equal(bss(c), { sum: BigInt(n + 5), count: BigInt(n + 1) });
  } finally { w.close(); c.close(); }
});

test('bad input: a record larger than the ring, a map of another type, close() twice', () => {
  const c = Collection.loadFile(file);
  try {
    const w = UserRingBuffer.open(c.maps.get('user_ring')!);
    assert.throws(() => w.reserve(16384), (e: Error) => e instanceof EventsError && /does not fit in a ring of 16384/.test(e.message));
    w.close();
    assert.throws(() => w.close(), (e: Error) => e instanceof EventsError && e.reason === 'closed');
    assert.throws(() => w.write(u64(1)), (e: Error) => e instanceof EventsError && e.reason === 'closed');
    assert.throws(() => UserRingBuffer.open(c.maps.get('.bss')!), (e: Error) => e instanceof EventsError && e.reason === 'map-type' && /is not a user_ringbuf map/.test(e.message));
  } finally { c.close(); }
});

uvuTest.run();
