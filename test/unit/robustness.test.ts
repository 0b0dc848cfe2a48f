// The map API against wrong keys and values, with no root: the fixtures are loaded into
// the fake kernel (test/helpers/fake-kernel.ts). Every wrong key or value is a
// MapArgumentError (a TsbpfError naming the map) thrown before any syscall: the kernel
// copies keySize / valueSize bytes from whatever pointer it gets, so a short buffer would
// send the bytes that follow it in memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, MapArgumentError, mapMemoryBytes, numPossibleCpus, SpecError, TsbpfError, type BpfMap } from '../../src/index.js';
import { CoreError, KernelBtf } from '../../src/core/index.js';
import { readWholeFile } from '../../src/file.js';
import { pathInDir } from '../../src/load/pin.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const pinRoot = mkdtempSync(path.join(tmpdir(), `tsbpf-robust-${process.pid}-`));
const ELEM_CALLS = /^BPF_MAP_(UPDATE|LOOKUP|DELETE)_ELEM$|^BPF_MAP_GET_NEXT_KEY$/;

/** Loads `name` into a fake kernel and runs `fn` with it installed; closes everything after. */
function withFixture(name: string, fn: (c: Collection, k: FakeKernel) => void): void {
  const k = new FakeKernel();
  k.use(() => {
    const c = Collection.loadFile(obj(name), { pinRoot });
    try { fn(c, k); } finally { c.unpin(true); c.close(); }
  });
}

/** `op` throws a MapArgumentError naming `map` (and matching `re`) and makes no element syscall. */
function refused(k: FakeKernel, map: BpfMap, op: () => unknown, re: RegExp, fields: Partial<MapArgumentError> = {}): MapArgumentError {
  const before = k.calls.filter((c) => ELEM_CALLS.test(c.command)).length;
  let err: unknown;
  try { op(); } catch (e) { err = e; }
  assert.ok(err !== undefined, `expected a refusal matching ${re}`);
  assert.instance(err, TsbpfError);
  assert.instance(err, MapArgumentError, String(err));
  const e = err as MapArgumentError;
  assert.is(e.map, map.name);
  assert.match(e.message, new RegExp(`map '${map.name}'`));
  assert.match(e.message, re);
  for (const [f, v] of Object.entries(fields)) assert.is((e as unknown as Record<string, unknown>)[f], v, f);
  assert.is(k.calls.filter((c) => ELEM_CALLS.test(c.command)).length, before, 'nothing reached the kernel');
  return e;
}

test('item 2: buffers of the wrong length, for keys and values, are refused with both sizes', () => {
  withFixture('map_types', (c, k) => {
    const h = c.maps.get('hash_map')!; // u32 -> u64
    const buf = Buffer.alloc(16, 0xab);
    refused(k, h, () => h.update(7, buf.subarray(0, 2)), /value must be 8 bytes, the Buffer given is 2/, { argument: 'value', expectedBytes: 8, givenBytes: 2 });
    refused(k, h, () => h.update(7, buf), /value must be 8 bytes, the Buffer given is 16/, { expectedBytes: 8, givenBytes: 16 });
    refused(k, h, () => h.update(buf.subarray(0, 3), 1n), /key must be 4 bytes, the Buffer given is 3/, { argument: 'key', expectedBytes: 4, givenBytes: 3 });
    refused(k, h, () => h.lookup(buf.subarray(0, 2)), /key must be 4 bytes/);
    refused(k, h, () => h.delete(buf), /key must be 4 bytes, the Buffer given is 16/);
    h.update(7, buf.subarray(0, 8));
    assert.is(h.lookup(7), 0xababababababababn);
  });
});

test('item 2: per-CPU values: one slot per possible CPU, never more values than CPUs', () => {
  withFixture('map_types', (c, k) => {
    const cpus = numPossibleCpus();
    const pc = c.maps.get('percpu_hash')!; // u64 -> u32, 8-byte slots
    assert.is(pc.valueBytes, 8 * cpus);
    refused(k, pc, () => pc.update(1n, Array.from({ length: cpus + 1 }, (_, i) => i)), new RegExp(`${cpus + 1} values given, but this machine has ${cpus} possible CPUs`));
    refused(k, pc, () => pc.update(1n, Buffer.alloc(4)), new RegExp(`per-CPU value \\(${cpus} CPUs x 8 bytes\\) must be ${8 * cpus} bytes, the Buffer given is 4`), { expectedBytes: 8 * cpus, givenBytes: 4 });
    refused(k, pc, () => pc.update(1n, 5), /is per-CPU: give an array of up to \d+ values/);
    refused(k, pc, () => pc.update(1n, [Buffer.alloc(2)]), /value for CPU 0 must be 4 bytes, the Buffer given is 2/);
    refused(k, pc, () => pc.update(1n, [2 ** 32]), /value for CPU 0 is a 4-byte unsigned integer; 4294967296 does not fit/);
    pc.update(1n, [1, 2]);
    const got = pc.lookup(1n) as number[];
    assert.equal(got.slice(0, 2), [1, 2]);
    assert.ok(got.slice(2).every((v) => v === 0), 'CPUs not given get zeros');
  });
});

test('item 3: numbers that are not integers or do not fit the key are refused (no BTF: prog array slots)', () => {
  withFixture('tailcall_run', (c, k) => {
    const t = c.maps.get('run_table')!;
    assert.not.ok(t.spec.keyType, 'a prog array has no BTF key type');
    for (const [key, re] of [
      [2 ** 32 + 135, /4-byte unsigned integer; 4294967431 does not fit/],
      [146.9, /146\.9 is not an integer/],
      [NaN, /NaN is not an integer/],
      [Infinity, /Infinity is not an integer/],
      [2 ** 53, /beyond 2\^53.*pass a bigint/],
      [-1, /-1 does not fit \(0\.\.4294967295\)/],
      [2n ** 32n, /does not fit/],
    ] as const) {
      refused(k, t, () => t.delete(key), re, { argument: 'key' });
    }
    refused(k, t, () => t.lookup('3' as never), /give the key as a Buffer of 4 bytes or an integer.*got string/);
    assert.equal([...t.keys()], [0, 1, 2, 3, 5], 'slots read back as numbers');
    assert.ok(t.delete(3));
    assert.equal([...t.keys()], [0, 1, 2, 5]);
  });
});

test('item 3: BTF-typed keys and values keep their C type: an unsigned u32 refuses -1, a u64 refuses 2^64', () => {
  withFixture('map_types', (c, k) => {
    const h = c.maps.get('hash_map')!; // u32 -> u64
    refused(k, h, () => h.update(-1, 1n), /key is a 4-byte unsigned integer; -1 does not fit/, { argument: 'key' });
    refused(k, h, () => h.lookup(2 ** 32), /key is a 4-byte unsigned integer; 4294967296 does not fit/);
    refused(k, h, () => h.update(1, -1n), /value is a 8-byte unsigned integer; -1 does not fit/, { argument: 'value' });
    refused(k, h, () => h.update(1, 2n ** 64n), /does not fit/);
    refused(k, h, () => h.update(0.5, 1n), /0\.5 is not an integer/);
    refused(k, h, () => h.update(1, { x: 1 } as never), /value: expected a number, got object/);
    h.update(2 ** 32 - 1, 2n ** 64n - 1n);
    assert.equal([...h.entries()], [[2 ** 32 - 1, 2n ** 64n - 1n]]);
  });
});

test('item 4: a prog array takes a Program, a map of maps a BpfMap; lookups answer ids; the wrong kind is refused', () => {
  withFixture('tailcall_run', (c, k) => {
    const t = c.maps.get('run_table')!;
    const ret12 = c.programs.get('ret_12')!;
    t.update(4, ret12);
    const call = k.calls.filter((x) => x.command === 'BPF_MAP_UPDATE_ELEM').at(-1)!;
    assert.ok(call, 'the update reached the kernel');
    const id = (k.fds.get(ret12.fd.value) as { id: number }).id;
    assert.is(t.lookup(4), id, 'the kernel answers with the program id');
    refused(k, t, () => t.update(6, c.maps.get('loop_count')! as never), /run_table' \(prog_array\) takes programs; got map 'loop_count'/);
    const lc = c.maps.get('loop_count')!;
    refused(k, lc, () => lc.update(0, ret12), /loop_count' \(array\) holds no programs or maps; got program 'ret_12'/);
  });
  withFixture('map_in_map', (c, k) => {
    const outer = [...c.maps.values()].find((m) => m.type === 'array_of_maps')!;
    const inner = c.maps.get('inner_b')!;
    outer.update(1, inner);
    assert.is(outer.lookup(1), (k.fds.get(inner.fd.value) as { id: number }).id);
    const prog = [...c.programs.values()][0]!;
    refused(k, outer, () => outer.update(1, prog), /takes maps; got program/);
  });
});

test('item 7: only regular files are read: /dev/zero, a FIFO and a directory are refused at once', () => {
  const fifo = path.join(pinRoot, 'fifo');
  spawnSync('mkfifo', [fifo]);
  for (const [p, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [pinRoot, 'a directory']] as const) {
    const t0 = performance.now();
    assert.throws(() => loadCollectionSpec(p), (e: unknown) => e instanceof SpecError && e.file === p && e.message.includes(`cannot read object: is ${kind}: only regular files are read`));
    assert.ok(performance.now() - t0 < 1000);
  }
  assert.throws(() => new KernelBtf({ path: '/dev/zero' }).vmlinux, (e: unknown) => e instanceof CoreError && /cannot read kernel BTF: is a character device/.test((e as Error).message));
  assert.throws(() => readWholeFile(obj('nobtf'), 100), /is \d+ bytes, more than the 100 read at most/);
});

test('item 11: the object as an ArrayBuffer, a DataView or any typed array; anything else is named', () => {
  const bytes = readFileSync(obj('nobtf'));
  const names = (s: { programs: Map<string, unknown> }) => [...s.programs.keys()].sort();
  const want = names(loadCollectionSpec(bytes));
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.equal(names(loadCollectionSpec(ab)), want);
  assert.equal(names(loadCollectionSpec(new DataView(ab))), want);
  const padded = new Uint8Array(bytes.length + 16);
  padded.set(bytes, 8);
  assert.equal(names(loadCollectionSpec(new DataView(padded.buffer, 8, bytes.length))), want, 'a view with an offset');
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(words.buffer).set(bytes);
  assert.equal(names(loadCollectionSpec(words)), want, 'a Uint32Array');
  for (const bad of [{}, 42, null, [1, 2, 3]]) {
    assert.throws(() => loadCollectionSpec(bad as never), (e: unknown) => e instanceof SpecError && /takes a path or the object's bytes \(Uint8Array, Buffer, ArrayBuffer or another ArrayBufferView\), not/.test((e as Error).message));
  }
});

/** A copy of a fixture with every occurrence of `from` replaced by `to` (same length: offsets stay). */
function patched(fixture: string, from: string, to: string): Buffer {
  assert.is(to.length, from.length);
  const b = Buffer.from(readFileSync(obj(fixture)));
  let n = 0;
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + from.length)) { b.write(to, i, 'latin1'); n++; }
  assert.ok(n > 0, `${from} not in ${fixture}`);
  return b;
}

test('item 5: names that would leave a directory are refused for every path built from them, naming the name', () => {
  for (const bad of ['../../zzz', '..', '.', '', 'a/b', 'a\0b']) {
    assert.throws(() => pathInDir('/sys/fs/bpf/a', bad, 'program'), (e: unknown) => e instanceof TsbpfError && e.reason === 'unsafe-name' && e.message.includes(JSON.stringify(bad)));
  }
  assert.is(pathInDir('/sys/fs/bpf/a', '..x', 'program'), '/sys/fs/bpf/a/..x');
  // a program renamed '../../zzz' in .strtab (ELF symbol names may hold any byte)
  const k = new FakeKernel();
  const dir = path.join(pinRoot, 'a', 'b');
  k.use(() => {
    const c = Collection.load(loadCollectionSpec(patched('nobtf', 'xdp_nobtf', '../../zzz'), { file: 'renamed.o' }));
    try {
      assert.throws(() => c.pin(dir), (e: unknown) => e instanceof TsbpfError && e.reason === 'unsafe-name' && /program name "\.\.\/\.\.\/zzz" cannot be a file name in .*\/a\/b/.test((e as Error).message));
    } finally { c.close(); }
  });
  assert.equal(k.livePins(), [], 'nothing pinned, not even the other program');
  // a map pinned by name, renamed '../../zz_pin': refused before any map is created
  const k2 = new FakeKernel();
  assert.throws(() => k2.use(() => Collection.load(loadCollectionSpec(patched('map_types', 'tsbpf_pinned', '../../zz_pin'), { file: 'renamed.o' }), { pinRoot })),
    (e: unknown) => e instanceof TsbpfError && e.reason === 'unsafe-name' && e.symbol === '../../zz_pin');
  assert.is(k2.calls.filter((c) => c.command === 'BPF_MAP_CREATE').length, 0);
});

test('item 8: a map over LoadOptions.limits.maxMapBytes (default 1 GiB) is refused before anything is created', () => {
  // the prog array: 268,435,456 slots, 2 GiB of pointers in the kernel
  assert.is(mapMemoryBytes({ type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 268_435_456 }, 2), 2 ** 31);
  assert.is(mapMemoryBytes({ type: 'percpu_array', keySize: 4, valueSize: 12, maxEntries: 10 }, 4), 10 * (8 + 16 * 4));
  assert.is(mapMemoryBytes({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 1 << 20 }, 4), 1 << 20);
  const spec = loadCollectionSpec(obj('tailcall_run'));
  spec.maps.get('run_table')!.maxEntries = 268_435_456;
  const k = new FakeKernel();
  assert.throws(() => k.use(() => Collection.load(spec)), (e: unknown) => e instanceof TsbpfError && e.reason === 'map-too-large' && e.symbol === 'run_table' &&
    /map 'run_table' \(prog_array, max_entries 268435456, key 4, value 4\) would take about 2147483648 bytes, 2\.0 GiB of kernel memory, over the limit of 1073741824 bytes, 1\.0 GiB: not created\. .*LoadOptions\.limits\.maxMapBytes \(CLI: --max-map-bytes N\)/.test((e as Error).message));
  assert.equal(k.calls.map((c) => c.command), [], 'no syscall at all: refused before BTF and maps');
  const small = loadCollectionSpec(obj('tailcall_run'));
  assert.throws(() => new FakeKernel().use(() => Collection.load(small, { limits: { maxMapBytes: 32 } })), (e: unknown) => e instanceof TsbpfError && e.reason === 'map-too-large');
  const lifted = new FakeKernel();
  lifted.use(() => Collection.load(spec, { limits: { maxMapBytes: Infinity } }).close());
  assert.ok(lifted.calls.some((c) => c.command === 'BPF_MAP_CREATE' && c.name === 'run_table'), 'Infinity lifts the limit');
});

test.after(() => rmSync(pinRoot, { recursive: true, force: true }));

test.run();
