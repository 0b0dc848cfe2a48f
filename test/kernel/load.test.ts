// Loading the fixtures into the running kernel and running them with BPF_PROG_TEST_RUN.
// Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN): skipped with a message
// otherwise, except under CI=true where the tests must run.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Collection, copySpec, forceMissingBtfFeatures, loadCollectionSpec, sanitizeBtf, setVariable, SyscallError,
  TsbpfError, VerifierError, type CollectionSpec,
} from '../../src/index.js';
import { allIds, btfLoad, closeFd, mapGetFdById, mapInfo, progGetFdById, progInfo, progTestRun, Fd } from '../../src/sys/index.js';

const isRoot = process.getuid?.() === 0;
const run = isRoot || process.env.CI === 'true';
if (!run) console.log('# load (kernel): SKIPPED: not root (bpf(2) needs root or CAP_BPF); CI=true forces these tests to run');
const test = run ? uvuTest : uvuTest.skip;

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

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Fixtures the running kernel can load, with why others cannot. */
const NEEDS: Record<string, string> = {
  ksyms: 'typed .ksyms need CONFIG_KALLSYMS_ALL data symbols (and ksym support: the CO-RE issue)',
};

uvuTest.before(() => {
  if (run) mkdirSync(pinRoot, { recursive: true });
});
uvuTest.after(() => {
  if (run) rmSync(pinRoot, { recursive: true, force: true });
});

test('bpf-to-bpf calls and callbacks compute the right results', () => {
  const c = Collection.loadFile(obj('bpf2bpf'));
  try {
    assert.is(c.programs.get('calls_xdp')!.testRun({ data: packet(0) }).retval, 25);
    assert.is(c.programs.get('loop_sock')!.testRun({ data: packet(0) }).retval, 49);
    assert.is(c.programs.get('foreach_tc')!.testRun({ data: packet(0) }).retval, 106);
    const info = c.programs.get('foreach_tc')!.info();
    assert.ok(info.verifiedInsns > 0, 'verified instructions reported');
    assert.is(info.mapIds.length, 1, 'uses the vals map');
    assert.ok(info.nrFuncInfo >= 3, 'func_info sent for the subprograms');
  } finally { c.close(); }
  const n = Collection.loadFile(obj('nobtf'));
  try {
    assert.is(n.programs.get('sock_nobtf')!.testRun({ data: packet(0) }).retval, 30);
    assert.is(n.programs.get('xdp_nobtf')!.testRun({ data: packet(0) }).retval, 11);
  } finally { n.close(); }
});

test('map operations: update, lookup, keys, entries, delete; per-CPU values as arrays', () => {
  const c = Collection.loadFile(obj('map_types'), { pinRoot });
  try {
    const h = c.maps.get('hash_map')!;
    h.update(1, Buffer.from(new BigUint64Array([42n]).buffer));
    h.update(2, Buffer.from(new BigUint64Array([43n]).buffer));
    assert.is(h.lookup(1), 42n);
    assert.equal([...h.keys()].map((k) => k.readUInt32LE(0)).sort(), [1, 2]);
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
  const a = Collection.loadFile(obj('map_types'), { pinRoot });
  const pinned = a.maps.get('tsbpf_pinned')!;
  assert.is(pinned.pinnedAt, `${pinRoot}/tsbpf_pinned`);
  pinned.update(3, 333);
  a.close();
  const b = Collection.loadFile(obj('map_types'), { pinRoot });
  try {
    assert.is(b.maps.get('tsbpf_pinned')!.lookup(3), 333);
    assert.is(b.maps.get('tsbpf_pinned')!.info().id, b.maps.get('tsbpf_pinned')!.info().id);
  } finally { b.close(); }
  const spec = loadCollectionSpec(obj('map_types'));
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

/** Our process's fds, and the kernel's program and map ids. */
function snapshot() {
  return { fds: fdCount(), progs: new Set(allIds('prog')), maps: new Set(allIds('map')) };
}

/** Names of kernel programs / maps created since `before` (other processes may create their own: only names count). */
function createdSince(before: ReturnType<typeof snapshot>): string[] {
  const names: string[] = [];
  for (const id of allIds('prog')) {
    if (before.progs.has(id)) continue;
    try { const fd = new Fd(progGetFdById(id)); names.push(`prog ${progInfo(fd).name}`); fd.close(); } catch { /* gone meanwhile */ }
  }
  for (const id of allIds('map')) {
    if (before.maps.has(id)) continue;
    try { const fd = new Fd(mapGetFdById(id)); names.push(`map ${mapInfo(fd).name}`); fd.close(); } catch { /* gone meanwhile */ }
  }
  return names;
}

test('BTF sanitisation for an old kernel: features forced off, the kernel accepts the result and programs load', () => {
  const spec = loadCollectionSpec(obj('bpf2bpf'));
  // Kernels without DATASEC / FLOAT / tags / ENUM64 but with BTF functions (5.2 .. 5.15 era)
  forceMissingBtfFeatures(['datasec', 'float', 'declTag', 'typeTag', 'enum64']);
  try {
    const s = sanitizeBtf(spec.btf!);
    assert.ok(s.changes.includes('DATASEC -> STRUCT') && s.changes.includes('VAR -> INT'), s.changes.join(', '));
    assert.ok(s.funcInfo);
    closeFd(btfLoad(s.bytes));
    const c = Collection.load(spec);
    try {
      assert.ok(c.btfFd, 'BTF loaded');
      assert.is(c.programs.get('calls_xdp')!.testRun({ data: packet(0) }).retval, 25);
      assert.is(c.programs.get('loop_sock')!.testRun({ data: packet(0) }).retval, 49);
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
