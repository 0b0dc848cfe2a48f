// The mount helpers without mounting anything: magic numbers against <linux/magic.h>,
// directories tsbpf refuses to mount on, and a mkdir -p that cannot spin on sysfs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TsbpfError } from '../../src/errors.js';
import { BPF_FS_MAGIC, ensureBpffs, ensureTracefs, makeDirs, MountError, TRACEFS_MAGIC } from '../../src/sys/mount.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const SYSFS_MAGIC = 0x62656572;

/** A fake kernel whose /sys/fs/bpf and /sys/kernel/tracing are bare sysfs until mount(2) is called on them. */
function bareMachine(): FakeKernel {
  const k = new FakeKernel();
  k.fsType = (p) => {
    const m = [...k.mounts].reverse().find((x) => p === x.target || p.startsWith(`${x.target}/`));
    if (m) return m.fstype === 'bpf' ? BPF_FS_MAGIC : TRACEFS_MAGIC;
    return p.startsWith('/sys/') ? SYSFS_MAGIC : 0xef53;
  };
  return k;
}

const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-mount-unit-'));

test('magic numbers match <linux/magic.h>', () => {
  const h = '/usr/include/linux/magic.h';
  if (!existsSync(h)) return console.log(`# mount: ${h} missing (linux-libc-dev), checked by hand only`);
  const text = readFileSync(h, 'utf8');
  const def = (n: string) => Number(new RegExp(`#define\\s+${n}\\s+(0x[0-9a-f]+)`, 'i').exec(text)![1]);
  assert.is(BPF_FS_MAGIC, def('BPF_FS_MAGIC'));
  assert.is(TRACEFS_MAGIC, def('TRACEFS_MAGIC'));
});

test('a directory outside /sys/fs/bpf that is not on bpffs: refused, never mounted over', () => {
  const dir = path.join(tmp, 'pins');
  try { ensureBpffs(dir, { create: true }); assert.unreachable(); } catch (e) {
    assert.instance(e, MountError);
    const m = e as MountError;
    assert.is(m.reason, 'not-mountable');
    assert.is(m.fsType, 'bpf');
    assert.is(m.target, dir);
    assert.match(m.message, /not on a bpffs mount .*mount -t bpf bpf DIR/);
  }
  assert.not.ok(existsSync(dir), 'nothing created');
});

test('makeDirs: mkdir -p one level at a time; on sysfs a clear error instead of a spin', () => {
  const deep = path.join(tmp, 'a', 'b', 'c');
  makeDirs(deep);
  assert.ok(statSync(deep).isDirectory());
  makeDirs(deep); // already there: fine
  // sysfs refuses mkdir (ENOENT or EACCES): Node 20's mkdirSync(recursive) loops forever there
  const t0 = Date.now();
  try { makeDirs(`/sys/kernel/tsbpf-nope-${process.pid}/x`); assert.unreachable(); } catch (e) {
    assert.instance(e, TsbpfError);
    assert.match((e as Error).message, /cannot create directory \/sys\/kernel\/tsbpf-nope-\d+: E[A-Z]+/);
  }
  assert.ok(Date.now() - t0 < 1000);
});

test('a pin under a bare /sys/fs/bpf mounts bpffs there once and says so in one line', () => {
  const k = bareMachine();
  const notices: string[] = [];
  const notice = (l: string) => notices.push(l);
  k.use(() => {
    assert.is(ensureBpffs('/sys/fs/bpf/tsbpf-x/y', { notice }), '/sys/fs/bpf');
    assert.is(ensureBpffs('/sys/fs/bpf/tsbpf-x/y', { notice }), undefined, 'mounted already: nothing to do');
    assert.is(ensureBpffs('/sys/fs/bpf', { notice }), undefined);
  });
  assert.equal(k.mounts, [{ source: 'bpf', target: '/sys/fs/bpf', fstype: 'bpf', data: 'mode=0700' }]);
  assert.equal(notices, ['mounted bpffs at /sys/fs/bpf (it was not mounted; pins need it)']);
});

test('tracefs: mounted at /sys/kernel/tracing once when neither it nor debugfs has it', () => {
  const k = bareMachine();
  const notices: string[] = [];
  k.use(() => {
    assert.is(ensureTracefs({ notice: (l) => notices.push(l) }), '/sys/kernel/tracing');
    assert.is(ensureTracefs({ notice: (l) => notices.push(l) }), '/sys/kernel/tracing');
  });
  assert.equal(k.mounts.map((m) => [m.fstype, m.target]), [['tracefs', '/sys/kernel/tracing']]);
  assert.is(notices.length, 1);
  const viaDebugfs = new FakeKernel();
  viaDebugfs.fsType = (p) => (p === '/sys/kernel/debug/tracing' ? TRACEFS_MAGIC : SYSFS_MAGIC);
  assert.is(viaDebugfs.use(() => ensureTracefs()), '/sys/kernel/debug/tracing');
  assert.is(viaDebugfs.mounts.length, 0);
});

test.run();
