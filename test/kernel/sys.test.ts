// Real bpf(2) calls through src/sys. Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN):
// skipped with a message otherwise, except under CI=true where they must run.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, existsSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBpffs, leakedFdCount } from '../../src/sys/index.js';
import {
  bpf, Fd, SyscallError, mapCreate, mapLookup, mapUpdate, mapDelete, mapGetNextKey, mapFreeze,
  mapLookupBatch, mapUpdateBatch, mapDeleteBatch, progLoad, progTestRun, progInfo, mapInfo,
  objPin, objGet, btfLoad, progBindMap, progGetNextId, mapGetNextId, progGetFdById, mapGetFdById,
  allIds, encodeAttr, layouts, BPF_NOEXIST, closeFd,
} from '../../src/sys/index.js';
import { TsbpfError } from '../../src/errors.js';
import { BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_PROG_LOAD } from '../../src/kernel/enums.js';
import { collect } from '../helpers/gc.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { kernelStructHasMember } from '../helpers/kernel-probes.js';

const { test } = kernelSuite('sys');

const XDP_PASS = 2;
/** r0 = 2; exit */
const RET2 = Uint8Array.from([0xb7, 0x00, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
/** r1 = map fd (ld_imm64, BPF_PSEUDO_MAP_FD); r0 = 2; exit */
function retWithMap(mapFd: number): Uint8Array {
  const b = new Uint8Array(32);
  b.set([0x18, 0x11], 0);
  new DataView(b.buffer).setInt32(4, mapFd, true);
  b.set(RET2, 16);
  return b;
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function arrayMap(maxEntries = 4, name = 'tsbpf_arr'): Fd {
  return new Fd(mapCreate({ type: 'array', keySize: 4, valueSize: 8, maxEntries, name }), `map ${name}`);
}

test('array map: update / lookup / next key / delete; map info', () => {
  const m = arrayMap(4);
  try {
    mapUpdate(m, u32(1), u64(0x1122334455667788n));
    const v = new Uint8Array(8);
    assert.ok(mapLookup(m, u32(1), v));
    assert.is(readU64(v), 0x1122334455667788n);
    assert.ok(mapLookup(m, u32(0), v));
    assert.is(readU64(v), 0n);
    assert.not.ok(mapLookup(m, u32(99), v), 'out of range: ENOENT -> false');
    const next = new Uint8Array(4);
    assert.ok(mapGetNextKey(m, null, next));
    assert.is(next[0], 0);
    assert.ok(mapGetNextKey(m, u32(2), next));
    assert.is(next[0], 3);
    assert.not.ok(mapGetNextKey(m, u32(3), next), 'last key: false');
    // arrays cannot delete: EINVAL, with the command named
    try { mapDelete(m, u32(1)); assert.unreachable(); } catch (e) {
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).command, 'BPF_MAP_DELETE_ELEM');
      assert.is((e as SyscallError).code, 'EINVAL');
    }
    const info = mapInfo(m);
    assert.is(info.typeName, 'array');
    assert.is(info.keySize, 4);
    assert.is(info.valueSize, 8);
    assert.is(info.maxEntries, 4);
    assert.is(info.name, 'tsbpf_arr');
    assert.ok(info.id > 0);
  } finally { m.close(); }
});

test('hash map: NOEXIST, delete, batch update / lookup / delete', () => {
  const h = new Fd(mapCreate({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16, name: 'tsbpf_hash' }), 'hash');
  try {
    mapUpdate(h, u32(7), u64(70n));
    try { mapUpdate(h, u32(7), u64(71n), BPF_NOEXIST); assert.unreachable(); } catch (e) {
      assert.is((e as SyscallError).code, 'EEXIST');
    }
    assert.ok(mapDelete(h, u32(7)));
    assert.not.ok(mapDelete(h, u32(7)), 'second delete: ENOENT -> false');
    const keys = new Uint32Array([1, 2, 3]);
    const vals = new BigUint64Array([10n, 20n, 30n]);
    assert.is(mapUpdateBatch(h, { keys, values: vals, count: 3 }).count, 3);
    const outK = new Uint32Array(16), outV = new BigUint64Array(16), cursor = new Uint8Array(4);
    const r = mapLookupBatch(h, { outBatch: cursor, keys: outK, values: outV, count: 16 });
    assert.is(r.count, 3);
    assert.ok(r.done);
    const got = new Map<number, bigint>();
    for (let i = 0; i < r.count; i++) got.set(outK[i]!, outV[i]!);
    assert.equal([...got.entries()].sort((a, b) => a[0] - b[0]), [[1, 10n], [2, 20n], [3, 30n]]);
    assert.is(mapDeleteBatch(h, { keys: new Uint32Array([1, 2]), count: 2 }).count, 2);
    const v = new Uint8Array(8);
    assert.not.ok(mapLookup(h, u32(1), v));
    assert.ok(mapLookup(h, u32(3), v));
  } finally { h.close(); }
});

test('frozen map: update fails with EPERM and a hint', () => {
  const m = arrayMap(1, 'tsbpf_frozen');
  try {
    mapUpdate(m, u32(0), u64(5n));
    mapFreeze(m);
    try { mapUpdate(m, u32(0), u64(6n)); assert.unreachable('update after freeze'); } catch (e) {
      assert.instance(e, SyscallError);
      const s = e as SyscallError;
      assert.is(s.command, 'BPF_MAP_UPDATE_ELEM');
      assert.is(s.code, 'EPERM');
      assert.is(s.errno, 1);
      assert.match(s.hint, /frozen/);
      assert.match(s.message, /BPF_MAP_UPDATE_ELEM failed: EPERM/);
    }
    const v = new Uint8Array(8);
    assert.ok(mapLookup(m, u32(0), v));
    assert.is(readU64(v), 5n);
  } finally { m.close(); }
});

test('XDP program: load, BPF_PROG_TEST_RUN gives retval 2, prog info', () => {
  const p = new Fd(progLoad({ type: 'xdp', insns: RET2, license: 'GPL', name: 'tsbpf_xdp' }), 'prog');
  try {
    const data = new Uint8Array(64).fill(0xab);
    const r = progTestRun(p, { data, repeat: 10 });
    assert.is(r.retval, XDP_PASS);
    assert.is(r.dataOut.length, 64);
    assert.equal(Array.from(r.dataOut), Array.from(data));
    const info = progInfo(p);
    assert.is(info.typeName, 'xdp');
    assert.is(info.xlatedProgLen, 16);
    assert.is(info.name, 'tsbpf_xdp');
    // verified_insns: bpf_prog_info has it since Linux 5.16 (0 on Debian 11's 5.10, which has no such field)
    assert.is(info.verifiedInsns, kernelStructHasMember('bpf_prog_info', 'verified_insns') ? 2 : 0);
    assert.ok(info.gplCompatible);
    assert.is(info.tag.length, 16);
    assert.equal(info.mapIds, []);
    assert.ok(info.id > 0);
  } finally { p.close(); }
});

test('program using a map: map ids in prog info; PROG_BIND_MAP adds one', () => {
  const m = arrayMap(1, 'tsbpf_used');
  const extra = arrayMap(1, 'tsbpf_bound');
  const p = new Fd(progLoad({ type: 'xdp', insns: retWithMap(m.value), license: 'Dual MIT/GPL', name: 'tsbpf_maps' }), 'prog');
  try {
    const mid = mapInfo(m).id, eid = mapInfo(extra).id;
    assert.equal(progInfo(p).mapIds, [mid]);
    progBindMap(p, extra);
    assert.equal(progInfo(p).mapIds.sort((a, b) => a - b), [mid, eid].sort((a, b) => a - b));
    assert.is(progTestRun(p, { data: new Uint8Array(64) }).retval, XDP_PASS);
  } finally { p.close(); m.close(); extra.close(); }
});

test('verifier log: a bad program fails with EACCES/EINVAL and fills the log', () => {
  const log = new Uint8Array(64 * 1024);
  // exit without setting r0
  const bad = Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0]);
  try { progLoad({ type: 'xdp', insns: bad, license: 'GPL', logLevel: 1, logBuf: log }); assert.unreachable(); } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).command, 'BPF_PROG_LOAD');
    assert.is((e as SyscallError).code, 'EACCES');
    assert.match((e as SyscallError).hint, /verifier/);
  }
  const text = Buffer.from(log.subarray(0, log.indexOf(0))).toString();
  assert.match(text, /R0 !read_ok/);
});

test('a pin at a non-ASCII path is that file on bpffs (UTF-8) and opens again', () => {
  const path = `/sys/fs/bpf/tsbpf-é表😀-${process.pid}`;
  ensureBpffs('/sys/fs/bpf');
  const m = arrayMap(2, 'tsbpf_utf8');
  try {
    objPin(m, path);
    assert.ok(readdirSync('/sys/fs/bpf').includes(path.slice('/sys/fs/bpf/'.length)), 'the file name is the path\'s UTF-8');
    const again = new Fd(objGet(path), 'pinned');
    try { assert.is(mapInfo(again).id, mapInfo(m).id); } finally { again.close(); }
  } finally {
    if (existsSync(path)) unlinkSync(path);
    m.close();
  }
});

test('pin to /sys/fs/bpf, OBJ_GET it back, unlink', () => {
  const path = `/sys/fs/bpf/tsbpf-test-${process.pid}`;
  ensureBpffs('/sys/fs/bpf'); // a fresh machine has no bpffs mounted
  const m = arrayMap(2, 'tsbpf_pinned');
  try {
    mapUpdate(m, u32(1), u64(42n));
    objPin(m, path);
    assert.ok(existsSync(path));
    try { objPin(m, path); assert.unreachable(); } catch (e) { assert.is((e as SyscallError).code, 'EEXIST'); }
    const again = new Fd(objGet(path), 'pinned');
    try {
      const v = new Uint8Array(8);
      assert.ok(mapLookup(again, u32(1), v));
      assert.is(readU64(v), 42n);
      assert.is(mapInfo(again).id, mapInfo(m).id);
    } finally { again.close(); }
  } finally {
    if (existsSync(path)) unlinkSync(path);
    m.close();
  }
  try { objGet(path); assert.unreachable(); } catch (e) {
    const s = e as SyscallError;
    assert.is(s.command, 'BPF_OBJ_GET');
    assert.is(s.code, 'ENOENT');
    assert.match(s.hint, /pin path/);
  }
});

/** header + INT 'int' (32-bit signed) + strings "\0int\0" */
function tinyBtf(): Uint8Array {
  const b = new Uint8Array(24 + 16 + 5);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0xeb9f, true); b[2] = 1; b[3] = 0;
  dv.setUint32(4, 24, true); // hdr_len
  dv.setUint32(8, 0, true); dv.setUint32(12, 16, true); // type_off, type_len
  dv.setUint32(16, 16, true); dv.setUint32(20, 5, true); // str_off, str_len
  dv.setUint32(24, 1, true); dv.setUint32(28, 1 << 24, true); dv.setUint32(32, 4, true); dv.setUint32(36, 0x01000020, true);
  b.set([0, 0x69, 0x6e, 0x74, 0], 40);
  return b;
}

test('BTF_LOAD of a small blob; a broken blob gives EINVAL and a log', () => {
  const fd = new Fd(btfLoad(tinyBtf()), 'btf');
  fd.close();
  const broken = tinyBtf();
  new DataView(broken.buffer).setUint32(36, 0x01000021, true); // 33 bits in a 4-byte int
  const log = new Uint8Array(4096);
  try { btfLoad(broken, { level: 1, buf: log }); assert.unreachable(); } catch (e) {
    assert.is((e as SyscallError).command, 'BPF_BTF_LOAD');
    assert.is((e as SyscallError).code, 'EINVAL');
  }
  assert.ok(log[0] !== 0, 'log written');
});

test('ids: GET_NEXT_ID lists our objects, GET_FD_BY_ID opens them', () => {
  const m = arrayMap(1, 'tsbpf_ids');
  const p = new Fd(progLoad({ type: 'xdp', insns: RET2, license: 'GPL', name: 'tsbpf_ids' }), 'prog');
  try {
    const mid = mapInfo(m).id, pid = progInfo(p).id;
    assert.ok(allIds('map').includes(mid));
    assert.ok(allIds('prog').includes(pid));
    assert.ok((mapGetNextId(mid - 1) ?? 0) <= mid);
    assert.ok((progGetNextId(pid - 1) ?? 0) <= pid);
    const m2 = new Fd(mapGetFdById(mid), 'by id'), p2 = new Fd(progGetFdById(pid), 'by id');
    assert.is(mapInfo(m2).id, mid);
    assert.is(progInfo(p2).id, pid);
    m2.close(); p2.close();
    try { mapGetFdById(0x7fffffff); assert.unreachable(); } catch (e) { assert.is((e as SyscallError).code, 'ENOENT'); }
  } finally { m.close(); p.close(); }
  assert.is(progGetNextId(0x7ffffffe), null);
});

test('bad command and bad attr: SyscallError with command and errno names', () => {
  try { bpf(9999, new Uint8Array(64)); assert.unreachable(); } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).command, 'BPF_CMD_9999');
    assert.is((e as SyscallError).code, 'EINVAL');
  }
  try { mapCreate({ type: 'array', keySize: 0, valueSize: 8, maxEntries: 1 }); assert.unreachable(); } catch (e) {
    assert.is((e as SyscallError).command, 'BPF_MAP_CREATE');
    assert.is((e as SyscallError).code, 'EINVAL');
    assert.match((e as SyscallError).hint, /key\/value size/);
  }
  // a non-zero byte beyond what the kernel knows: E2BIG
  const big = new Uint8Array(4096);
  big.set(encodeAttr(layouts.MAP_CREATE, { map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }).bytes);
  big[4095] = 1;
  try { bpf(BPF_MAP_CREATE, big); assert.unreachable(); } catch (e) {
    assert.is((e as SyscallError).code, 'E2BIG');
    assert.match((e as SyscallError).hint, /older kernel/);
  }
  // a closed fd: EBADF
  const m = arrayMap(1);
  const raw = m.value;
  m.close();
  try { mapLookup(raw, u32(0), new Uint8Array(8)); assert.unreachable(); } catch (e) {
    assert.is((e as SyscallError).command, 'BPF_MAP_LOOKUP_ELEM');
    assert.is((e as SyscallError).code, 'EBADF');
  }
  try { progLoad({ type: 'xdp', insns: new Uint8Array(12), license: 'GPL' }); assert.unreachable(); } catch (e) {
    assert.instance(e, TsbpfError);
    assert.not.instance(e, SyscallError);
  }
  void BPF_PROG_LOAD;
});

test('Fd: closes once, second close is a no-op, use after close throws', () => {
  const m = arrayMap(1);
  const raw = m.value;
  m.close();
  m.close();
  assert.ok(m.closed);
  assert.throws(() => m.value, (e: unknown) => e instanceof TsbpfError && /closed fd/.test((e as Error).message));
  assert.throws(() => mapLookup(m, u32(0), new Uint8Array(8)), (e: unknown) => e instanceof TsbpfError && !(e instanceof SyscallError));
  try { closeFd(raw); assert.unreachable(); } catch (e) { assert.is((e as SyscallError).code, 'EBADF'); }
});

test('closing counts: /proc/self/fd before == after; our kernel ids are gone', () => {
  progGetNextId(0); // bind libc before counting
  const fdsBefore = fdCount();
  const fds: Fd[] = [];
  const progIds: number[] = [], mapIds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const m = arrayMap(2, `tsbpf_cnt${i}`);
    fds.push(m);
    mapIds.push(mapInfo(m).id);
    const p = new Fd(progLoad({ type: 'xdp', insns: retWithMap(m.value), license: 'GPL', name: `tsbpf_cnt${i}` }), 'prog');
    fds.push(p);
    progIds.push(progInfo(p).id);
    fds.push(new Fd(btfLoad(tinyBtf()), 'btf'));
  }
  assert.is(fdCount(), fdsBefore + 15);
  for (const f of fds) f.close();
  for (const f of fds) f.close();
  assert.is(fdCount(), fdsBefore);
  // Other processes create and free objects too, so count only ours. The kernel frees
  // objects asynchronously (RCU / work queue): wait briefly for the ids to go.
  const live = () => {
    const p = new Set(allIds('prog')), m = new Set(allIds('map'));
    return [...progIds.filter((id) => p.has(id)), ...mapIds.filter((id) => m.has(id))];
  };
  const deadline = Date.now() + 3000;
  while (live().length > 0 && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  assert.equal(live(), []);
});

test('overhead: ns per bpf() call (map lookup in a loop)', () => {
  const m = arrayMap(4);
  try {
    const key = u32(1), value = new Uint8Array(8);
    const N = 200_000;
    for (let i = 0; i < 10_000; i++) mapLookup(m, key, value);
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) mapLookup(m, key, value);
    const wrapped = Number(process.hrtime.bigint() - t) / N;
    const attr = encodeAttr(layouts.MAP_ELEM, { map_fd: m.value, key, value }).bytes;
    t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) bpf(BPF_MAP_LOOKUP_ELEM, attr);
    const raw = Number(process.hrtime.bigint() - t) / N;
    console.log(`# sys overhead: mapLookup ${wrapped.toFixed(0)} ns/call, bpf() with a prebuilt attr ${raw.toFixed(0)} ns/call`);
    assert.ok(wrapped < 100_000);
  } finally { m.close(); }
});

test('without privileges (setpriv drops every capability): EPERM with the CAP_BPF hint', () => {
  const setpriv = spawnSync('setpriv', ['--version']);
  if (setpriv.status !== 0) { console.log('# sys: setpriv missing, EPERM case not run'); return; }
  const sys = fileURLToPath(new URL('../../src/sys/index.ts', import.meta.url));
  const code = `import('${sys}').then((s) => { try { s.mapCreate({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }); console.log('CREATED'); } catch (e) { console.log(JSON.stringify({ command: e.command, code: e.code, hint: e.hint })); } })`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
    process.execPath, '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `child printed: ${r.stdout} ${r.stderr}`);
  const e = JSON.parse(line) as { command: string; code: string; hint: string };
  assert.is(e.command, 'BPF_MAP_CREATE');
  assert.is(e.code, 'EPERM');
  assert.match(e.hint, /CAP_BPF/);
});

test('Fd safety net: a leaked Fd is closed by the garbage collector', async () => {
  const before = fdCount();
  const leaked0 = leakedFdCount();
  (() => { for (let i = 0; i < 3; i++) arrayMap(1, 'tsbpf_leak'); })();
  assert.is(fdCount(), before + 3);
  await collect(() => leakedFdCount() >= leaked0 + 3);
  assert.is(leakedFdCount(), leaked0 + 3);
  assert.is(fdCount(), before);
});

uvuTest.run();
