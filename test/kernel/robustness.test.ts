// Hostile and careless use against the running kernel: wrong keys and values never reach
// it, prog arrays and maps of maps take objects, and load/close cycles leave nothing
// behind (this process's fds, and every id the cycles created). Needs root; runs under
// CI=true. TSBPF_LOAD_LOOP=N sets the number of load/close cycles (default 40).
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, MapArgumentError, numPossibleCpus } from '../../src/index.js';
import { ensureBpffs } from '../../src/sys/index.js';
import { created, waitGone } from '../helpers/kernel-ids.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { withoutMissingMaps } from '../helpers/requirements.js';

const { test } = kernelSuite('robustness');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const pinRoot = `/sys/fs/bpf/tsbpf-robust-${process.pid}`;
const fdCount = () => readdirSync('/proc/self/fd').length;
const isArgError = (e: unknown) => e instanceof MapArgumentError;

function packet(first: number): Uint8Array {
  const d = new Uint8Array(64);
  d[0] = first;
  return d;
}

test('a short buffer never reaches the kernel: the map keeps no garbage', () => {
  ensureBpffs(pinRoot, { create: true });
  // map_types for its hash and per-CPU maps: without the bloom filter before 5.16 (that refusal asserted first)
  const c = Collection.load(withoutMissingMaps(loadCollectionSpec(obj('map_types')), 'map_types.bpf.o', (s) => Collection.load(s, { pinRoot })), { pinRoot });
  try {
    const h = c.maps.get('hash_map')!;
    const buf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.throws(() => h.update(7, buf.subarray(0, 2)), (e: unknown) => e instanceof MapArgumentError && e.expectedBytes === 8 && e.givenBytes === 2);
    assert.is(h.lookup(7), undefined, 'nothing stored');
    const pc = c.maps.get('percpu_array')!;
    assert.throws(() => pc.update(0, Array.from({ length: numPossibleCpus() + 1 }, () => 1n)), (e: unknown) => e instanceof MapArgumentError && /possible CPUs/.test(e.message));
    assert.throws(() => h.delete(2 ** 32 + 7), isArgError);
  } finally { c.unpin(true); c.close(); rmSync(pinRoot, { recursive: true, force: true }); }
});

test('prog array: update(slot, program) makes the tail call jump; lookup answers the id; keys are numbers', () => {
  const c = Collection.loadFile(obj('tailcall_run'));
  try {
    const entry = c.programs.get('run_entry')!;
    const t = c.maps.get('run_table')!;
    const ret12 = c.programs.get('ret_12')!;
    assert.is(entry.testRun({ data: packet(4) }).retval, 99, 'slot 4 starts empty');
    t.update(4, ret12);
    assert.is(entry.testRun({ data: packet(4) }).retval, 12, 'the tail call jumps to ret_12');
    assert.is(t.lookup(4), ret12.info().id);
    assert.equal([...t.keys()], [0, 1, 2, 3, 4, 5, 6, 7], 'an array walks every index');
    assert.throws(() => t.delete(2 ** 32 + 4), isArgError);
    assert.throws(() => t.delete(4.5), isArgError);
    assert.is(entry.testRun({ data: packet(4) }).retval, 12, 'slot 4 untouched by the refused deletes');
    assert.throws(() => t.update(6, c.maps.get('loop_count')! as never), isArgError);
    assert.ok(t.delete(4));
    assert.is(entry.testRun({ data: packet(4) }).retval, 99);
  } finally { c.close(); }
});

test('map of maps: update(slot, innerMap) and the program reads through it; lookup answers the inner map id', () => {
  const c = Collection.loadFile(obj('map_in_map'));
  try {
    const outer = c.maps.get('outer_arr')!, innerB = c.maps.get('inner_b')!;
    const arr = c.programs.get('lookup_arr')!;
    innerB.update(0, 9);
    assert.is(arr.testRun({ data: packet(1) }).retval, 200, 'slot 1 starts empty');
    outer.update(1, innerB);
    assert.is(arr.testRun({ data: packet(1) }).retval, 1009);
    assert.is(outer.lookup(1), innerB.info().id);
    assert.throws(() => outer.update(3, arr), isArgError);
  } finally { c.close(); }
});

test('load loop: load/close cycles leave no fd of this process and none of the objects they created', () => {
  const cycles = Number(process.env.TSBPF_LOAD_LOOP ?? 40);
  const fixture = 'tailcall_run';
  const spec = obj(fixture);
  Collection.loadFile(spec).close(); // warm-up: lazily opened files (vmlinux BTF, kallsyms) stay open by design
  const fds0 = fdCount();
  const t0 = performance.now();
  // every map, program and BTF object the cycles create, by id (told apart from what other
  // processes load meanwhile)
  const { error, objects } = created(() => { for (let i = 0; i < cycles; i++) Collection.loadFile(spec).close(); });
  if (error) throw error;
  const ms = performance.now() - t0;
  const fds1 = fdCount();
  // A program's last reference frees its id at once; what it held goes later: a prog array
  // is cleared by a kernel work item (tail_loop sits in run_table and uses it: the cycle is
  // cut there), then RCU frees programs, maps and BTF. On a busy machine that takes seconds.
  // The ids are looked up in the kernel's lists, never opened: opening run_table by id and
  // closing it while its clear is still queued makes the kernel take a reference that is
  // never dropped (prog_array_map_clear's bpf_map_inc when schedule_work finds the work
  // pending), and the prog array then lives until reboot: the flake this loop had.
  const w0 = performance.now();
  const left = waitGone(objects, 30_000);
  const count = (k: string) => objects.filter((o) => o.startsWith(`${k} `)).length;
  console.log(`  load loop: ${cycles} cycles of ${fixture} in ${Math.round(ms)} ms (${(ms / cycles).toFixed(1)} ms each); fds ${fds0} -> ${fds1}; ` +
    `${objects.length} objects created (${count('prog')} programs, ${count('map')} maps, ${count('btf')} BTF), ${left.length} still alive after ${Math.round(performance.now() - w0)} ms`);
  assert.ok(count('prog') >= cycles && count('map') >= cycles && count('btf') >= cycles, 'every cycle\'s programs, maps and BTF were seen');
  assert.is(fds1, fds0, 'no fd of this process left open');
  assert.equal(left, [], 'every prog, map and BTF object the cycles created is gone');
});

uvuTest.run();
