// RLIMIT_MEMLOCK on the running kernel: read through prlimit(2) as /proc/self/limits
// shows it; on kernels before 5.11 (memlock accounting, 5.10 in the VM matrix) it is
// removed, on 5.11+ left alone; a process started with `ulimit -l 64` loads a map of
// 512 KiB with LoadOptions.memlock 'auto', and with 'keep' gets a MemlockError naming the
// limit where the kernel charges it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasMemcgAccounting, removeMemlockLimit } from '../../src/load/memlock.js';
import { getMemlockLimit, RLIM_INFINITY } from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { test: kt } = kernelSuite('memlock');

/** Linux 5.11 moved BPF memory from RLIMIT_MEMLOCK to the memory cgroup. */
const [major, minor] = os.release().split('.').map(Number) as [number, number];
const charged = major < 5 || (major === 5 && minor < 11);

kt('getMemlockLimit() is what /proc/self/limits says', () => {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max locked memory'))!;
  const [soft, hard] = line.slice('Max locked memory'.length).trim().split(/\s+/).slice(0, 2).map((v) => (v === 'unlimited' ? RLIM_INFINITY : BigInt(v)));
  assert.equal(getMemlockLimit(), { soft, hard });
});

kt(`memcg accounting probe: ${charged ? 'absent' : 'present'} on ${os.release()}; removeMemlockLimit() acts only where it is absent`, () => {
  assert.is(hasMemcgAccounting(), !charged);
  const before = getMemlockLimit();
  const r = removeMemlockLimit();
  assert.is(r.memcgAccounting, !charged);
  assert.equal(r.before, before);
  assert.equal(getMemlockLimit(), charged ? { soft: RLIM_INFINITY, hard: RLIM_INFINITY } : before);
});

/** A child process under `ulimit -l 64` (KiB) loading tailcall_run with its prog array grown to 64 Ki slots (512 KiB). */
function bigLoad(memlock: 'auto' | 'keep') {
  const script = `
    import { Collection, loadCollectionSpec, MemlockError } from ${JSON.stringify(path.join(root, 'dist/tsbpf.mjs'))};
    const spec = loadCollectionSpec('bpf-objs/tailcall_run.bpf.o');
    spec.maps.get('run_table').maxEntries = 1 << 16;
    try {
      const c = Collection.load(spec, { memlock: '${memlock}' });
      console.log(JSON.stringify({ loaded: c.maps.get('run_table').info().maxEntries }));
      c.close();
    } catch (e) {
      console.log(JSON.stringify({ error: e.constructor.name, memlock: e instanceof MemlockError, code: e.code, limit: String(e.limit?.soft), message: e.message }));
    }`;
  const r = spawnSync('sh', ['-c', 'ulimit -l 64 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { loaded?: number; error?: string; memlock?: boolean; code?: string; limit?: string; message?: string };
}

kt("ulimit -l 64: a 512 KiB map loads with memlock 'auto' (the default)", () => {
  assert.equal(bigLoad('auto'), { loaded: 1 << 16 });
});

kt(`ulimit -l 64, memlock 'keep': ${charged ? 'MemlockError naming RLIMIT_MEMLOCK = 64 KiB' : 'loads (memcg accounting)'}`, () => {
  const r = bigLoad('keep');
  if (!charged) { assert.equal(r, { loaded: 1 << 16 }); return; }
  assert.is(r.error, 'MemlockError', r.message);
  assert.equal([r.memlock, r.code, r.limit], [true, 'EPERM', String(64 << 10)]);
  assert.match(r.message!, /BPF_MAP_CREATE failed: EPERM .*RLIMIT_MEMLOCK, which is 64 KiB \(soft\) \/ 64 KiB \(hard\) here/);
});

test.run();
