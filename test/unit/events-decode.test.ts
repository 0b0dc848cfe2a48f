// Records decoded through the object's BTF (src/events/decode.ts), without a kernel: the
// type named as 'struct event', as a BTF type id, or refused with the reason a caller can
// branch on; record sizes that cannot be the type.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../../src/index.js';
import { recordDecoder } from '../../src/events/decode.js';
import { EventsError } from '../../src/events/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const btf = loadCollectionSpec(path.join(root, 'bpf-objs/events.bpf.o')).btf!;
const EVENT_MAGIC = 0x65766e74;

/** Record number `seq` as bpf-objs/events.bpf.c makes it (struct event, 64 bytes), plus `pad` bytes. */
function record(seq: number, pad = 0): Uint8Array {
  const b = new Uint8Array(64 + pad);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(seq), true);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, EVENT_MAGIC, true);
  dv.setUint32(16, 77, true);
  b.set(new TextEncoder().encode('perf'), 20);
  for (let i = 0; i < 32; i++) b[32 + i] = (seq + i) & 0xff;
  return b;
}

const refused = (f: () => unknown): EventsError => {
  try { f(); } catch (e) { assert.instance(e, EventsError); return e as EventsError; }
  return assert.unreachable('no error') as never;
};

test("by name and by BTF type id: the same decoder; char arrays become strings", () => {
  const byName = recordDecoder(btf, 'struct event', 'ring', false);
  const id = btf.idsByName('event').find((i) => btf.kindOf(i) === 'struct')!;
  const byId = recordDecoder(btf, id, 'ring', false);
  assert.is(byName.typeId, id);
  assert.is(byId.typeId, id);
  assert.is(byName.size, 64);
  assert.is(byId.type, `#${id}`);
  const v = byId.decode(record(5), 0, 64) as Record<string, unknown>;
  assert.equal(byName.decode(record(5), 0, 64), v);
  assert.is(v.seq, 5n);
  assert.is(v.magic, EVENT_MAGIC);
  assert.is(v.kind, 'perf');
  assert.equal(v.fill, Array.from({ length: 32 }, (_, i) => (5 + i) & 0xff));
});

test('perf records may carry up to 7 bytes of padding; ring buffer records may not', () => {
  const perf = recordDecoder(btf, 'struct event', 'perf', true);
  assert.is((perf.decode(record(1, 4), 0, 68) as { seq: bigint }).seq, 1n);
  assert.is(refused(() => perf.decode(record(1, 8), 0, 72)).reason, 'type-size');
  const ring = recordDecoder(btf, 'struct event', 'ring', false);
  const e = refused(() => ring.decode(record(1, 4), 0, 68));
  assert.is(e.reason, 'type-size');
  assert.match(e.message, /a record of 68 bytes cannot be a struct event \(64 bytes\)/);
  assert.is(refused(() => ring.decode(record(1), 0, 13)).reason, 'type-size');
});

test('refused: no such type, a type id out of range, a variable, no BTF at all', () => {
  assert.is(refused(() => recordDecoder(btf, 'struct nope', 'ring', false)).reason, 'type-unknown');
  const big = refused(() => recordDecoder(btf, btf.length + 5, 'ring', false));
  assert.is(big.reason, 'type-unknown');
  assert.ok(big.message.includes(`no type id ${btf.length + 5} in the object's BTF`), big.message);
  assert.is(refused(() => recordDecoder(btf, 0, 'ring', false)).reason, 'type-unknown', 'id 0 is void');
  assert.is(refused(() => recordDecoder(btf, 'ring_seq', 'ring', false)).reason, 'type-unknown', 'a global variable is not a record type');
  const none = refused(() => recordDecoder(undefined, 'struct event', 'ring', false));
  assert.is(none.reason, 'type-unknown');
  assert.match(none.message, /comes with no BTF/);
});

test.run();
