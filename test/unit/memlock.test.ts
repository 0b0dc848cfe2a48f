// RLIMIT_MEMLOCK (src/sys/rlimit.ts, src/load/memlock.ts) against the fake kernel: the
// memcg probe, the limit raised before the first object is created on a kernel without
// memcg accounting (before 5.11) and only there, 'keep', removeMemlockLimit(), and the
// EPERM that names the limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/load/collection.js';
import { explainEperm, hasBpfCapability, hasMemcgAccounting, removeMemlockLimit } from '../../src/load/memlock.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { formatLimit, getMemlockLimit, MemlockError, RLIM_INFINITY, SyscallError } from '../../src/sys/index.js';
import { HELPER_NAMES } from '../../src/asm/index.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (n: string) => loadCollectionSpec(path.join(root, 'bpf-objs', `${n}.bpf.o`));
const KIB64 = 64n << 10n;
const UNLIMITED = { soft: RLIM_INFINITY, hard: RLIM_INFINITY };

/** A kernel before 5.11: no bpf_ktime_get_coarse_ns, so no memcg accounting either. */
function oldKernel(): FakeKernel {
  const k = new FakeKernel();
  k.missingHelpers.add(HELPER_NAMES.indexOf('bpf_ktime_get_coarse_ns'));
  return k;
}

/** RLIMIT_MEMLOCK (soft) at each BPF_BTF_LOAD / BPF_MAP_CREATE / BPF_PROG_LOAD the loader makes, probes aside. */
function limitsAtCreates(k: FakeKernel): bigint[] {
  const seen: bigint[] = [];
  k.rules.push((c) => {
    if (c.command === 'BPF_BTF_LOAD' || c.command === 'BPF_MAP_CREATE' || (c.command === 'BPF_PROG_LOAD' && c.progType !== 'socket_filter')) seen.push(k.memlock.soft);
    return undefined;
  });
  return seen;
}

test('formatLimit', () => {
  assert.is(formatLimit(RLIM_INFINITY), 'unlimited');
  assert.is(formatLimit(KIB64), '64 KiB');
  assert.is(formatLimit(8n << 20n), '8 MiB');
  assert.is(formatLimit(1000n), '1000 bytes');
});

test('kernel with memcg accounting (5.11+): one probe, the limit left alone', () => {
  const k = new FakeKernel();
  const seen = limitsAtCreates(k);
  k.use(() => {
    const c = Collection.load(fixture('global_data'));
    c.close();
    assert.ok(hasMemcgAccounting());
  });
  const probes = k.calls.filter((c) => c.command === 'BPF_PROG_LOAD' && c.progType === 'socket_filter');
  assert.is(probes.length, 1, 'probed once');
  assert.equal(k.memlockSets, []);
  assert.ok(seen.length > 3 && seen.every((v) => v === KIB64));
  assert.equal(k.openFds(), [], 'the probe program is closed');
});

test('kernel without memcg accounting (before 5.11): the limit is removed before the first object, once per process', () => {
  const k = oldKernel();
  const seen = limitsAtCreates(k);
  k.use(() => {
    assert.is(hasMemcgAccounting(), false);
    Collection.load(fixture('global_data')).close();
    Collection.load(fixture('tailcall_run')).close();
  });
  assert.equal(k.memlockSets, [UNLIMITED], 'raised once, to unlimited');
  assert.ok(seen.length > 3);
  assert.ok(seen.every((v) => v === RLIM_INFINITY), 'raised before the first BTF / map / program');
  assert.equal(k.openFds(), []);
});

test("memlock: 'keep' leaves the limit; a bad value is refused before anything is created", () => {
  const k = oldKernel();
  k.use(() => Collection.load(fixture('global_data'), { memlock: 'keep' }).close());
  assert.equal(k.memlockSets, []);
  const k2 = oldKernel();
  k2.use(() => assert.throws(() => Collection.load(fixture('global_data'), { memlock: 'off' as 'keep' }), /memlock: 'off' is not 'auto' or 'keep'/));
  assert.equal(k2.calls, []);
});

test('no CAP_SYS_RESOURCE: auto raises the soft limit to the hard one and goes on; removeMemlockLimit() throws', () => {
  const k = oldKernel();
  k.memlock = { soft: KIB64, hard: 8n << 20n };
  k.canRaiseMemlock = false;
  k.use(() => {
    Collection.load(fixture('global_data')).close();
    assert.equal(getMemlockLimit(), { soft: 8n << 20n, hard: 8n << 20n });
    try { removeMemlockLimit(); assert.unreachable(); } catch (e) {
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).command, 'prlimit');
      assert.is((e as SyscallError).code, 'EPERM');
      assert.match((e as SyscallError).hint, /CAP_SYS_RESOURCE/);
    }
  });
});

test('removeMemlockLimit(): a no-op with memcg accounting; unlimited without', () => {
  const k = new FakeKernel();
  k.use(() => assert.equal(removeMemlockLimit(), { memcgAccounting: true, before: { soft: KIB64, hard: KIB64 }, after: { soft: KIB64, hard: KIB64 } }));
  assert.equal(k.memlockSets, []);
  const old = oldKernel();
  old.use(() => {
    assert.equal(removeMemlockLimit(), { memcgAccounting: false, before: { soft: KIB64, hard: KIB64 }, after: UNLIMITED });
    assert.equal(getMemlockLimit(), UNLIMITED);
  });
});

test('explainEperm: the limit only for a privileged process on a kernel that charges it, with a limit set', () => {
  const eperm = new SyscallError('BPF_MAP_CREATE', 1, { file: 'x.o', symbol: 'big' });
  const facts = { privileged: true, memcgAccounting: false, limit: { soft: KIB64, hard: KIB64 } };
  const x = explainEperm(eperm, () => facts);
  assert.instance(x, MemlockError);
  assert.instance(x, SyscallError);
  const m = x as MemlockError;
  assert.equal([m.command, m.code, m.errno, m.reason, m.limit, m.file, m.symbol], ['BPF_MAP_CREATE', 'EPERM', 1, 'memlock-limit', { soft: KIB64, hard: KIB64 }, 'x.o', 'big']);
  assert.match(m.message, /RLIMIT_MEMLOCK, which is 64 KiB \(soft\) \/ 64 KiB \(hard\) here/);
  assert.not.match(m.message, /CAP_BPF/);
  assert.is(m.cause, eperm);
  assert.is(explainEperm(eperm, () => ({ ...facts, privileged: false })), eperm, 'unprivileged: capabilities, as before');
  assert.is(explainEperm(eperm, () => ({ ...facts, memcgAccounting: true })), eperm, '5.11+: not the limit');
  assert.is(explainEperm(eperm, () => ({ ...facts, limit: UNLIMITED })), eperm, 'no limit to blame');
  const einval = new SyscallError('BPF_MAP_CREATE', 22);
  assert.is(explainEperm(einval, () => facts), einval);
  const update = new SyscallError('BPF_MAP_UPDATE_ELEM', 1);
  assert.is(explainEperm(update, () => facts), update, 'only creates are charged');
  assert.instance(explainEperm(new SyscallError('BPF_PROG_LOAD', 1), () => facts), MemlockError);
});

test('an EPERM at map create with the limit kept: MemlockError as a privileged process, SyscallError otherwise', () => {
  const k = oldKernel();
  k.rules.push((c) => (c.command === 'BPF_MAP_CREATE' ? 'EPERM' : undefined));
  let err: unknown;
  k.use(() => { try { Collection.load(fixture('global_data'), { memlock: 'keep' }); } catch (e) { err = e; } });
  assert.instance(err, SyscallError);
  assert.is((err as SyscallError).code, 'EPERM');
  assert.ok((err as SyscallError).file?.endsWith('global_data.bpf.o'));
  if (hasBpfCapability()) {
    assert.instance(err, MemlockError);
    assert.match((err as Error).message, /RLIMIT_MEMLOCK, which is 64 KiB \(soft\)/);
  } else {
    assert.not.instance(err, MemlockError);
  }
  assert.equal(k.openFds(), []);
});

test.run();
