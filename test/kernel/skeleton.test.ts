// Loading through generated skeletons (test/skeleton/*.skel.ts, the golden modules that
// tsbpf-gen writes; test/unit/gen.test.ts checks they are current): a .rodata constant
// set before load changes what the program returns, .data / .bss are read and written
// typed after load, a prog array's slots read back as program ids, event records come
// typed out of a ring buffer. The modules import 'tsbpf' (this package's dist/tsbpf.mjs).
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
// the modules' own runtime (the package entry), so that instanceof compares the same classes
import { Collection, SpecError, TsbpfError } from 'tsbpf';
import { EventsSkeleton } from '../skeleton/events.skel.js';
import { GlobalDataSkeleton } from '../skeleton/global_data.skel.js';
import { TailcallRunSkeleton } from '../skeleton/tailcall_run.skel.js';
import { kernelSuite, ownIds } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('skeleton');

function packet(first: number, len = 64): Uint8Array {
  const d = new Uint8Array(len);
  d[0] = first;
  return d;
}

test('global_data: rodata.scale = 5 before load -> const_ret returns 52; typed .data / .bss after load', () => {
  const before = ownIds('map');
  const skel = GlobalDataSkeleton.load({ rodata: { scale: 5 }, data: { counter: 40 } });
  try {
    assert.is(skel.programs.const_ret.testRun({ data: packet(0) }).retval, 52, 'scale * 10 + base');
    const ro = skel.rodata.read();
    assert.is(ro.scale, 5);
    assert.is(ro.verbose, false);
    assert.equal(ro.primes, [2, 3, 5, 7, 11, 13, 17, 19]);
    // count_ret: ++counter (.data, set to 40 before load), hits++ and last_len (.bss)
    for (const want of [41, 42, 43]) assert.is(skel.programs.count_ret.testRun({ data: packet(0, 60) }).retval, want);
    const bss = skel.bss.read();
    assert.is(bss.hits, 3n, 'hits is a u64: a bigint');
    assert.is(bss.last_len, 60);
    assert.is(skel.data.get('counter'), 43);
    assert.is(skel.data.get('tag'), 'tsbpf');
    // written after load: the program sees it
    skel.data.set({ counter: 100, base: 7 });
    skel.bss.set({ hits: 0n });
    assert.is(skel.programs.count_ret.testRun({ data: packet(0) }).retval, 101);
    assert.is(skel.programs.const_ret.testRun({ data: packet(0) }).retval, 57, 'base 7 from .data');
    assert.is(skel.bss.get('hits'), 1n);
    assert.is(skel.data.read().base, 7);
  } finally {
    skel.close();
  }
  assert.equal(ownIds('map'), before, 'close() freed every map');
});

test('global_data: a value the C type cannot hold is refused before anything is created', () => {
  const before = ownIds('map');
  try {
    GlobalDataSkeleton.load({ rodata: { scale: -1 } });
    assert.unreachable('scale = -1 loaded');
  } catch (e) {
    assert.instance(e, SpecError);
    assert.is((e as SpecError).symbol, 'scale');
    assert.is((e as SpecError).section, '.rodata');
  }
  try {
    // untyped callers can still pass anything: the library checks it (unknown variable)
    GlobalDataSkeleton.load({ rodata: { nope: 1 } as never });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SpecError);
    assert.match((e as Error).message, "no variable 'nope' in .rodata");
  }
  assert.equal(ownIds('map'), before);
  // .rodata after load: the typed view has no set(); the untyped class refuses the section
  const skel = GlobalDataSkeleton.load();
  try {
    assert.is(skel.programs.const_ret.testRun({ data: packet(0) }).retval, 32);
    assert.throws(() => skel.rodata.map.update(0, skel.rodata.bytes()), (e: unknown) => e instanceof TsbpfError);
  } finally {
    skel.close();
  }
});

test('tailcall_run: typed maps and programs; the prog array reads back program ids', () => {
  const skel = TailcallRunSkeleton.load();
  try {
    const id: number | undefined = skel.maps.run_table.lookup(2);
    assert.is(id, skel.programs.ret_12.info().id);
    assert.is(skel.programs.run_entry.testRun({ data: packet(2) }).retval, 12);
    assert.is(skel.programs.run_entry.testRun({ data: packet(5) }).retval, 33, '33 tail calls at most');
    const count: number | undefined = skel.maps.loop_count.lookup(0);
    assert.is(count, 33);
    assert.equal([...skel.maps.run_table.keys()], [0, 1, 2, 3, 4, 5, 6, 7], 'an array has every key');
    // a program not loaded is named when used
    const partial = TailcallRunSkeleton.load({ programs: ['ret_10'] });
    try {
      assert.throws(() => partial.programs.run_entry, (e: unknown) => e instanceof TsbpfError && /program 'run_entry' was not loaded/.test((e as Error).message));
    } finally {
      partial.close();
    }
  } finally {
    skel.close();
  }
});

test('events: records come out of skel.events.reader(\'ring\') as struct event', async () => {
  const skel = EventsSkeleton.load();
  const reader = skel.events.reader('ring');
  try {
    const tag = process.pid & 0xffffffff;
    const data = new Uint8Array(64);
    new DataView(data.buffer).setUint32(0, tag, true);
    skel.programs.to_ringbuf.testRun({ data, repeat: 3 });
    const seen: bigint[] = [];
    reader.drain((e) => {
      assert.is(e.tag, tag);
      assert.is(e.kind, 'ringbuf');
      assert.is(e.magic, 0x65766e74);
      assert.is(e.fill.length, 32);
      seen.push(e.seq);
    });
    assert.equal(seen, [0n, 1n, 2n]);
    assert.is(skel.bss.get('ring_seq'), 3n);
    skel.programs.to_ringbuf.testRun({ data });
    const next = await reader.read({ timeoutMs: 2000 });
    assert.is(next?.seq, 3n);
  } finally {
    reader.close();
    skel.close();
  }
});

test('a skeleton is a Collection underneath: its maps are the collection\'s', () => {
  const skel = TailcallRunSkeleton.load();
  try {
    assert.instance(skel.collection, Collection);
    assert.is(skel.maps.loop_count, skel.collection.maps.get('loop_count'));
  } finally {
    skel.close();
  }
});

uvuTest.run();
