// Loading the fixtures into the running kernel and running them with BPF_PROG_TEST_RUN.
// Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN): skipped with a message
// otherwise, except under CI=true where the tests must run.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Collection, copySpec, forceMissingBtfFeatures, loadCollectionSpec, sanitizeBtf, setVariable, SyscallError,
  TsbpfError, VerifierError, type CollectionSpec,
} from '../../src/index.js';
import { btfLoad, closeFd, ensureBpffs, progGetFdById, progTestRun, Fd } from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { created, waitGone } from '../helpers/kernel-ids.js';
import { acceptedHere, assertRefusal, programRefusal, withoutMissingMaps } from '../helpers/requirements.js';
import { kernelStructHasMember } from '../helpers/kernel-probes.js';

const { run, test } = kernelSuite('load');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const pinRoot = `/sys/fs/bpf/tsbpf-test-${process.pid}`;

function packet(first: number, len = 64): Uint8Array {
  const d = new Uint8Array(len);
  d[0] = first;
  return d;
}

/** Replaces the first 8-byte instruction of a program by a read through r9, which nothing
 * initialised (the verifier must refuse it); returns its slot. Keeps every slot in place. */
function breakProgram(spec: CollectionSpec, name: string): number {
  const p = spec.programs.get(name)!;
  let slot = 0;
  for (let i = 0; i < p.instructions.length; i++) {
    const insn = p.instructions[i]!;
    if (insn.opcode !== 0x18) {
      p.instructions[i] = { opcode: 0x61, dst: 0, src: 9, off: 0, imm: 0, ...(insn.symbol ? { symbol: insn.symbol } : {}) };
      return slot;
    }
    slot += 2;
  }
  throw new Error(`${name}: no 8-byte instruction`);
}

/** A prog array as the kernel holds it: slot -> name of the program whose id is there. */
function filledSlots(c: Collection, map: string): Record<number, string> {
  const byId = new Map([...c.programs.values()].map((p) => [p.info().id, p.name]));
  const out: Record<number, string> = {};
  const m = c.maps.get(map)!;
  for (const k of m.keys()) {
    const id = m.lookup(k) as number | undefined; // the kernel answers a prog array lookup with the program's id
    if (id !== undefined) out[k as number] = byId.get(id) ?? `id ${id}`;
  }
  return out;
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

uvuTest.before(() => {
  if (run) ensureBpffs(pinRoot, { create: true }); // mounts bpffs where the machine has none
});
uvuTest.after(() => {
  if (run) rmSync(pinRoot, { recursive: true, force: true });
});

test('bpf-to-bpf calls and callbacks compute the right results (bpf_loop 5.17+, bpf_for_each_map_elem 5.13+: refused as the requirements say before)', () => {
  const spec = loadCollectionSpec(obj('bpf2bpf'));
  const want: Record<string, number> = { calls_xdp: 25, loop_sock: 49, foreach_tc: 106 };
  for (const name of Object.keys(want)) {
    const r = programRefusal('bpf2bpf.bpf.o', name);
    if (r) assertRefusal(() => Collection.load(spec, { programs: [name] }).close(), r, `bpf2bpf ${name}: `);
  }
  const here = acceptedHere('bpf2bpf.bpf.o', Object.keys(want));
  assert.ok(here.includes('calls_xdp'), 'calls_xdp loads everywhere');
  const c = Collection.load(spec, { programs: here });
  try {
    for (const name of here) assert.is(c.programs.get(name)!.testRun({ data: packet(0) }).retval, want[name], name);
    // foreach_tc: sum_sq and elem_cb; calls_xdp: sum_sq (and square through it)
    const [name, funcs, maps] = here.includes('foreach_tc') ? ['foreach_tc', 3, 1] : ['calls_xdp', 2, 0];
    const info = c.programs.get(name)!.info();
    // bpf_prog_info's verified_insns: Linux 5.16 (0 where the struct has no such field)
    if (kernelStructHasMember('bpf_prog_info', 'verified_insns')) assert.ok(info.verifiedInsns > 0, 'verified instructions reported');
    else assert.is(info.verifiedInsns, 0, 'no verified_insns in this kernel\'s bpf_prog_info');
    assert.is(info.mapIds.length, maps, `${name}: maps used`);
    assert.ok(info.nrFuncInfo >= funcs, `${name}: func_info sent for the subprograms`);
  } finally { c.close(); }
  const n = Collection.loadFile(obj('nobtf'));
  try {
    assert.is(n.programs.get('sock_nobtf')!.testRun({ data: packet(0) }).retval, 30);
    assert.is(n.programs.get('xdp_nobtf')!.testRun({ data: packet(0) }).retval, 11);
  } finally { n.close(); }
});

// every fixture on this kernel (accepted, or refused as bpf-objs/kernel-requirements.json says): test/kernel/fixtures.test.ts

test('tail calls: each filled slot jumps to its handler, an empty slot falls through, the self-chain stops at 33', () => {
  const c = Collection.loadFile(obj('tailcall_run'));
  try {
    const entry = c.programs.get('run_entry')!;
    const expect: Record<number, number> = { 0: 10, 1: 11, 2: 12, 3: 13, 4: 99, 5: 33, 6: 99, 7: 99, 8: 99, 200: 99 };
    for (const [k, want] of Object.entries(expect)) {
      assert.is(entry.testRun({ data: packet(Number(k)) }).retval, want, `slot ${k}`);
    }
    // the kernel's table holds exactly the slots the object declared, with our programs' ids
    assert.equal(filledSlots(c, 'run_table'), { 0: 'ret_10', 1: 'ret_11', 2: 'ret_12', 3: 'ret_13', 5: 'tail_loop' });
  } finally { c.close(); }
});

test('a map with autocreate off is not created; a program that reaches a use of it is refused naming it; the others load', () => {
  const spec = loadCollectionSpec(obj('tailcall_run'));
  spec.maps.get('loop_count')!.autocreate = false;
  assert.throws(() => Collection.load(spec),
    (e: Error) => e instanceof VerifierError && /call unknown#20010000\d\d/.test(e.message) && /a use of map 'loop_count', which was not created \(autocreate off\)/.test(e.message));
  const c = Collection.load(spec, { programs: ['ret_10', 'ret_11'] });
  try {
    assert.equal([...c.maps.keys()], ['run_table']);
    assert.is(c.programs.get('ret_10')!.testRun({ data: packet(0) }).retval, 10);
    assert.equal(filledSlots(c, 'run_table'), { 0: 'ret_10', 1: 'ret_11' });
  } finally { c.close(); }
  // LoadOptions.autocreate turns it back on for one load, over the spec
  const again = Collection.load(spec, { autocreate: { loop_count: true } });
  try {
    assert.ok(again.maps.has('loop_count'));
    assert.is(again.programs.get('run_entry')!.testRun({ data: packet(5) }).retval, 33);
  } finally { again.close(); }
});

test('an optional map (libbpf style): with its .rodata flag off and autocreate off, the program loads and the dead path never needs it', () => {
  const off = loadCollectionSpec(obj('optional_map'));
  setVariable(off, 'use_stats', false);
  off.maps.get('stats')!.autocreate = false;
  const c = Collection.load(off);
  try {
    assert.equal([...c.maps.keys()], ['.rodata'], 'stats not created');
    assert.is(c.programs.get('count')!.testRun({ data: packet(0) }).retval, 2);
  } finally { c.close(); }
  // the flag on but the map off: the verifier reaches the poisoned reference
  const half = loadCollectionSpec(obj('optional_map'));
  half.maps.get('stats')!.autocreate = false;
  assert.throws(() => Collection.load(half), (e: Error) => e instanceof VerifierError && /count/.test(e.message) && /a use of map 'stats', which was not created/.test(e.message));
  // both on: the map counts
  const on = Collection.loadFile(obj('optional_map'));
  try {
    assert.is(on.programs.get('count')!.testRun({ data: packet(0) }).retval, 1);
    assert.equal(on.maps.get('stats')!.lookup(0), 1n);
  } finally { on.close(); }
});

test('the uretprobe table (slots 135 and 146) and the xdp 1-slot table are filled as declared', () => {
  const c = Collection.loadFile(obj('tailcall_uretprobe'));
  try {
    assert.equal(filledSlots(c, 'jmp_table'), { 135: 'handle_odd', 146: 'handle_even' });
  } finally { c.close(); }
  const x = Collection.loadFile(obj('tailcall_xdp'));
  try {
    const entry = x.programs.get('xdp_entry')!;
    assert.is(entry.testRun({ data: packet(0) }).retval, 2, 'empty slot: falls through to XDP_PASS');
    x.maps.get('xdp_progs')!.update(0, x.programs.get('xdp_target')!);
    assert.is(entry.testRun({ data: packet(0) }).retval, 3, 'filled by hand: XDP_TX from the target');
  } finally { x.close(); }
});

test('map-in-map: slots reach the right inner maps, gaps are empty', () => {
  const c = Collection.loadFile(obj('map_in_map'));
  try {
    c.maps.get('inner_a')!.update(0, 7);
    c.maps.get('inner_b')!.update(0, 9);
    const arr = c.programs.get('lookup_arr')!, hash = c.programs.get('lookup_hash')!;
    assert.is(arr.testRun({ data: packet(0) }).retval, 1007);
    assert.is(arr.testRun({ data: packet(2) }).retval, 1009);
    assert.is(arr.testRun({ data: packet(1) }).retval, 200);
    assert.is(hash.testRun({ data: packet(1) }).retval, 1009);
    assert.is(hash.testRun({ data: packet(5) }).retval, 1007);
    assert.is(hash.testRun({ data: packet(2) }).retval, 201);
  } finally { c.close(); }
});

test('.rodata constants: the default, and a value set on the spec before load; .rodata is frozen', () => {
  const c = Collection.loadFile(obj('global_data'));
  try {
    assert.is(c.programs.get('const_ret')!.testRun({ data: packet(0) }).retval, 32);
    const count = c.programs.get('count_ret')!;
    assert.equal([1, 2, 3].map(() => count.testRun({ data: packet(0) }).retval), [6, 7, 8]);
    assert.is(c.programs.get('table_ret')!.testRun({ data: packet(3) }).retval, 7);
    const ro = c.maps.get('.rodata')!;
    assert.throws(() => ro.update(0, Buffer.alloc(ro.valueSize)), (e: unknown) => e instanceof SyscallError && e.code === 'EPERM');
    // BTF-typed view of the data maps
    const data = c.maps.get('.data')!.lookup(0) as Record<string, unknown>;
    assert.is(data.counter, 8);
  } finally { c.close(); }
  const spec = loadCollectionSpec(obj('global_data'));
  setVariable(spec, 'scale', 5);
  const c2 = Collection.load(spec);
  try {
    assert.is(c2.programs.get('const_ret')!.testRun({ data: packet(0) }).retval, 52);
  } finally { c2.close(); }
});

test('the legacy SEC("maps") object loads and its maps work', () => {
  const c = Collection.loadFile(obj('legacy_maps'));
  try {
    assert.is(c.maps.get('proto_counts')!.info().typeName, 'hash');
    assert.is(c.maps.get('pkt_total')!.info().maxEntries, 2);
  } finally { c.close(); }
});

test('a prog array is emptied when its last user reference goes, and keeps jumping when pinned', () => {
  for (const pin of [false, true]) {
    const c = Collection.loadFile(obj('tailcall_run'));
    const entry = c.programs.get('run_entry')!;
    // an extra reference to the entry program only (like an attached program)
    const extra = new Fd(progGetFdById(entry.info().id), 'extra');
    const pinAt = `${pinRoot}/run_table`;
    if (pin) c.maps.get('run_table')!.pin(pinAt);
    c.close();
    try {
      // the kernel clears the array from a work item (prog_array_map_clear_deferred): poll
      let r = progTestRun(extra, { data: packet(1) }).retval;
      for (let i = 0; !pin && r !== 99 && i < 100; i++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        r = progTestRun(extra, { data: packet(1) }).retval;
      }
      assert.is(r, pin ? 11 : 99, pin ? 'pinned: slot 1 still jumps' : 'not pinned: emptied (within a second), falls through');
    } finally {
      extra.close();
      if (pin) rmSync(pinAt);
    }
  }
});

test('collection.pin(dir) pins every program and map; unpin removes them', () => {
  const c = Collection.loadFile(obj('tailcall_run'));
  const dir = `${pinRoot}/pinall`;
  try {
    const paths = c.pin(dir);
    assert.equal(readdirSync(dir).sort(), ['loop_count', 'ret_10', 'ret_11', 'ret_12', 'ret_13', 'run_entry', 'run_table', 'tail_loop']);
    assert.is(paths.length, 8);
    c.unpin();
    assert.equal(readdirSync(dir), []);
  } finally { c.close(); rmSync(dir, { recursive: true, force: true }); }
});


test('a load that fails at any stage leaves no fd, program or map behind', () => {
  const cases: Array<[string, (s: CollectionSpec) => void, RegExp]> = [
    // a flag no kernel knows: refused by BPF_MAP_CREATE itself (a value_size 0 is refused before any map is made)
    ['maps', (s) => { s.maps.get('loop_count')!.flags = 1 << 30; }, /EINVAL/],
    ['programs', (s) => { breakProgram(s, 'tail_loop'); }, /verifier rejected program 'tail_loop'/],
    ['contents (kernel refuses the slot)', (s) => { s.maps.get('run_table')!.maxEntries = 4; }, /run_table\[5\]/],
    ['contents (mixed types)', (s) => { s.programs.get('ret_12')!.type = 'socket_filter'; s.programs.get('ret_12')!.attachType = undefined; }, /slot 2 holds 'ret_12' of type socket_filter/],
  ];
  const base = loadCollectionSpec(obj('tailcall_run'));
  for (const [stage, edit, re] of cases) {
    const spec = copySpec(base);
    edit(spec);
    const fds = fdCount();
    const load = created(() => Collection.load(spec)); // the ids of what it made (other suites load objects meanwhile)
    assert.ok(load.error instanceof TsbpfError && re.test(load.error.message), `${stage}: ${String(load.error)}`);
    assert.ok(load.objects.some((o) => o.startsWith('map ')), `${stage}: maps were created before the failure`);
    assert.is(fdCount(), fds, `${stage}: open fds as before`);
    assert.equal(waitGone(load.objects), [], `${stage}: no program, map or BTF of the load left in the kernel`);
  }
});

test('.kconfig externs get the running kernel\'s values; a typeless ksym resolves', () => {
  const c = Collection.loadFile(obj('kconfig'));
  try {
    const major = Number(/^(\d+)/.exec(release())![1]);
    assert.is(c.programs.get('kconfig_ret')!.testRun({ data: packet(0) }).retval, major * 10 + 1);
    const kc = c.maps.get('.kconfig')!.lookup(0) as Record<string, unknown>;
    assert.is(Number(kc.LINUX_KERNEL_VERSION) >> 16, major);
    assert.ok(c.programs.has('ksym_rawtp'));
  } finally { c.close(); }
});

/** map_types.bpf.o for its hash, per-CPU and pinned maps: without the bloom filter before
 * 5.16 (the refusal of the whole object asserted by the first call, before anything of it
 * is pinned). */
let mapTypesRefusal = false;
const mapTypes = () => {
  const spec = loadCollectionSpec(obj('map_types'));
  if (mapTypesRefusal) return withoutMissingMaps(spec, 'map_types.bpf.o');
  mapTypesRefusal = true;
  return withoutMissingMaps(spec, 'map_types.bpf.o', (s) => Collection.load(s, { pinRoot }));
};

test('map operations: update, lookup, keys, entries, delete; per-CPU values as arrays', () => {
  const c = Collection.load(mapTypes(), { pinRoot });
  try {
    const h = c.maps.get('hash_map')!;
    h.update(1, Buffer.from(new BigUint64Array([42n]).buffer));
    h.update(2, Buffer.from(new BigUint64Array([43n]).buffer));
    assert.is(h.lookup(1), 42n);
    assert.equal([...h.keys()].sort(), [1, 2]);
    assert.equal([...h.entries()].map(([, v]) => v).sort(), [42n, 43n]);
    assert.ok(h.delete(1));
    assert.not.ok(h.delete(1));
    assert.is(h.lookup(1), undefined);
    const pc = c.maps.get('percpu_array')!;
    const vals = pc.lookup(0) as unknown[];
    assert.ok(Array.isArray(vals) && vals.length >= 1, 'one value per possible CPU');
    pc.update(0, vals.map((_, i) => BigInt(i + 1)));
    assert.equal(pc.lookup(0), vals.map((_, i) => BigInt(i + 1)));
  } finally { c.unpin(true); c.close(); }
});

test('a pinned-by-name map is reused by a second load; a mismatch is a clear error', () => {
  const a = Collection.load(mapTypes(), { pinRoot });
  const pinned = a.maps.get('tsbpf_pinned')!;
  assert.is(pinned.pinnedAt, `${pinRoot}/tsbpf_pinned`);
  pinned.update(3, 333);
  const firstId = pinned.info().id, firstHash = a.maps.get('hash_map')!.info().id;
  a.close();
  const b = Collection.load(mapTypes(), { pinRoot });
  try {
    assert.is(b.maps.get('tsbpf_pinned')!.lookup(3), 333);
    assert.is(b.maps.get('tsbpf_pinned')!.info().id, firstId, 'the same kernel map, not a new one');
    assert.is.not(b.maps.get('hash_map')!.info().id, firstHash, 'a map that is not pinned is created anew');
  } finally { b.close(); }
  const spec = mapTypes();
  spec.maps.get('tsbpf_pinned')!.maxEntries = 99;
  assert.throws(() => Collection.load(spec, { pinRoot }), /map 'tsbpf_pinned' pinned at .* does not match the object: maxEntries 8 \(pinned\) vs 99 \(object\)/);
  rmSync(`${pinRoot}/tsbpf_pinned`);
});

test('a rejected program gives a VerifierError with its log, the failing instruction and the C source line', () => {
  const spec = loadCollectionSpec(obj('global_data'));
  const slot = breakProgram(spec, 'const_ret');
  try {
    Collection.load(spec);
    assert.unreachable('loaded');
  } catch (e) {
    assert.instance(e, VerifierError);
    const v = e as VerifierError;
    assert.is(v.program, 'const_ret');
    assert.match(v.log, /R9 !read_ok/);
    assert.is(v.insn, slot);
    assert.match(v.source ?? '', /global_data\.bpf\.c:\d+: \S/);
    assert.match(v.message, /verifier rejected program 'const_ret' \(EACCES\)/);
    assert.match(v.message, new RegExp(`at instruction ${slot}: r0 = \\*\\(u32 \\*\\)\\(r9 \\+0\\)`));
    assert.ok(v.tail(3).length > 0);
  }
});

test('BTF sanitisation for an old kernel: features forced off, the kernel accepts the result and programs load', () => {
  const spec = loadCollectionSpec(obj('bpf2bpf'));
  // Kernels without DATASEC / FLOAT / tags / ENUM64 but with BTF functions (5.2 .. 5.15 era)
  forceMissingBtfFeatures(['datasec', 'float', 'declTag', 'typeTag', 'enum64']);
  try {
    const s = sanitizeBtf(spec.btf!);
    assert.ok(s.changes.includes('DATASEC -> STRUCT') && s.changes.includes('VAR -> INT'), s.changes.join(', '));
    assert.ok(s.funcInfo);
    closeFd(btfLoad(s.bytes));
    const c = Collection.load(spec, { programs: acceptedHere('bpf2bpf.bpf.o', ['calls_xdp', 'loop_sock', 'foreach_tc']) });
    try {
      assert.ok(c.btfFd, 'BTF loaded');
      assert.is(c.programs.get('calls_xdp')!.testRun({ data: packet(0) }).retval, 25);
      if (!programRefusal('bpf2bpf.bpf.o', 'loop_sock')) assert.is(c.programs.get('loop_sock')!.testRun({ data: packet(0) }).retval, 49);
    } finally { c.close(); }
  } finally {
    forceMissingBtfFeatures([]);
  }
  // Kernels without BTF functions at all: FUNC -> TYPEDEF, FUNC_PROTO -> ENUM, no func_info
  forceMissingBtfFeatures(['datasec', 'func', 'globalFunc', 'float', 'declTag', 'typeTag', 'enum64']);
  try {
    const s = sanitizeBtf(spec.btf!);
    assert.ok(s.changes.includes('FUNC -> TYPEDEF') && s.changes.includes('FUNC_PROTO -> ENUM'), s.changes.join(', '));
    assert.not.ok(s.funcInfo);
    closeFd(btfLoad(s.bytes));
    const c = Collection.load(spec, { programs: ['calls_xdp'] });
    try {
      assert.is(c.programs.get('calls_xdp')!.testRun({ data: packet(0) }).retval, 25);
      assert.is(c.programs.get('calls_xdp')!.info().nrFuncInfo, 0, 'no func_info sent');
    } finally { c.close(); }
  } finally {
    forceMissingBtfFeatures([]);
  }
});

test('without privileges a load fails with EPERM and says what to do', () => {
  const r = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', '--', process.execPath, '--import', 'tsx', '-e',
    `import { Collection } from './src/index.ts'; try { Collection.loadFile('bpf-objs/tailcall_run.bpf.o'); console.log('LOADED'); } catch (e) { console.log(e.name + ': ' + e.message); }`],
  { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /SyscallError: .*EPERM/);
  assert.match(r.stdout, /CAP_BPF/);
});

uvuTest.run();
