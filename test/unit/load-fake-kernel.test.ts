// The loader's error paths against a fake kernel (src/sys overrideKernel, test/helpers/
// fake-kernel.ts): no root. Whatever fails, every fd the load opened is closed and every
// pin it made is removed; retries (verifier log too small, EAGAIN) happen as libbpf does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, MissingFeatureError, SyscallError, VerifierError, TsbpfError, type LoadOptions } from '../../src/index.js';
import { hasProgType } from '../../src/load/probes.js';
import { closeFd, bpf, libcFunction, lastErrno, libcFailure, overrideKernel, kernelEpoch } from '../../src/sys/index.js';
import { BPF_MAP_FREEZE } from '../../src/kernel/enums.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);

/**
 * Objects that between them reach every stage: BTF, maps (data, pinned by name,
 * map-in-map), programs, prog arrays, struct_ops registration. struct_ops plans against
 * the running kernel's BTF (readable without privileges): left out where there is none.
 */
const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const FIXTURES = ['tailcall_run', 'map_in_map', 'global_data', 'map_types', ...(existsSync(VMLINUX_BTF) ? ['struct_ops'] : [])];
if (!existsSync(VMLINUX_BTF)) console.log(`# load-fake-kernel: struct_ops left out of the failure injection: no ${VMLINUX_BTF}`);

function withPinRoot<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), `tsbpf-fake-${process.pid}-`));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function load(kernel: FakeKernel, name: string, opts: LoadOptions = {}): Collection {
  return kernel.use(() => Collection.load(loadCollectionSpec(obj(name)), opts));
}

function loadError(kernel: FakeKernel, name: string, opts: LoadOptions = {}): unknown {
  try {
    const c = load(kernel, name, opts);
    kernel.use(() => c.close());
  } catch (e) { return e; }
  return undefined;
}

test('the seam: bpf(), close() and libc functions go to the double; nothing is left installed', () => {
  const seen: string[] = [];
  const epoch = kernelEpoch();
  const restore = overrideKernel({
    bpf: (cmd) => { seen.push(`bpf ${cmd}`); return -1; },
    close: (fd) => { seen.push(`close ${fd}`); return fd === 7 ? 0 : -9; },
    libc: (name, args) => { seen.push(`${name}(${args.join(',')})`); return libcFailure(22); },
  });
  try {
    assert.is.not(kernelEpoch(), epoch);
    try { bpf(BPF_MAP_FREEZE, new Uint8Array(8)); assert.unreachable(); } catch (e) {
      assert.instance(e, SyscallError);
      assert.is((e as SyscallError).command, 'BPF_MAP_FREEZE');
      assert.is((e as SyscallError).code, 'EPERM');
    }
    closeFd(7);
    try { closeFd(8); assert.unreachable(); } catch (e) { assert.is((e as SyscallError).code, 'EBADF'); }
    const ioctl = libcFunction<(fd: number, req: number, arg: number) => number>('int ioctl(int fd, unsigned long request, long arg)');
    assert.is(ioctl(3, 0x2400, 0), -1);
    assert.is(lastErrno(), 22);
  } finally { restore(); }
  assert.equal(seen, [`bpf ${BPF_MAP_FREEZE}`, 'close 7', 'close 8', 'ioctl(3,9216,0)']);
  const again = overrideKernel({ bpf: () => 0, close: () => 0 }); // restored: installing again is allowed
  assert.throws(() => overrideKernel({ bpf: () => 0, close: () => 0 }), /already installed/);
  again();
});

test('every fixture loads and closes against the double, leaving no fd and no pin', () => {
  withPinRoot((pinRoot) => {
    for (const f of FIXTURES) {
      const k = new FakeKernel();
      const c = load(k, f, { pinRoot });
      assert.ok(k.fds.size > 0, f);
      k.use(() => { c.unpin(true); c.close(); });
      assert.equal(k.openFds(), [], `${f}: fds left open`);
      assert.equal(k.registeredStructOps(), [], `${f}: struct_ops maps left registered`);
      assert.equal(k.livePins(), [], `${f}: pins left`);
    }
  });
});

test('a pinRoot holding a NUL is refused before anything is created (the kernel would pin elsewhere)', () => {
  const k = new FakeKernel();
  const e = loadError(k, 'map_types', { pinRoot: path.join(tmpdir(), 'tsbpf\0elsewhere') });
  assert.instance(e, TsbpfError);
  assert.is((e as TsbpfError).reason, 'nul-in-path');
  assert.ok((e as TsbpfError).symbol, 'names the map pinned by name');
  assert.equal(k.calls.filter((c) => c.command.startsWith('BPF_')).map((c) => c.command).filter((c) => c !== 'BPF_PROG_LOAD'), [], 'no BTF, map or pin call (feature probes aside)');
  assert.equal(k.openFds(), []);
});

test('EPERM from BPF_MAP_CREATE: a SyscallError naming the map; the BTF fd is closed', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_MAP_CREATE' ? 'EPERM' : undefined));
  const e = loadError(k, 'tailcall_run');
  assert.instance(e, SyscallError);
  const s = e as SyscallError;
  assert.is(s.code, 'EPERM');
  assert.is(s.command, 'BPF_MAP_CREATE');
  assert.ok(s.hint.includes('CAP_BPF'), s.hint);
  assert.ok(s.symbol, 'names the map');
  assert.ok(k.calls.some((c) => c.command === 'BPF_BTF_LOAD'));
  assert.equal(k.openFds(), []);
});

test('ENOSPC on the verifier log: retried with a larger buffer until the whole log fits', () => {
  const k = new FakeKernel();
  const log = Array.from({ length: 6000 }, (_, i) => `${i}: (b7) r0 = 0 ; some verifier state line`).join('\n') + '\nR0 !read_ok\n';
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'ret_10' ? { errno: 'EACCES', log } : undefined));
  const e = loadError(k, 'tailcall_run', { logSize: 4096 });
  assert.instance(e, VerifierError);
  const v = e as VerifierError;
  assert.is(v.log, log);
  assert.is(v.program, 'ret_10');
  assert.is(v.errnoName, 'EACCES');
  assert.is(v.insn, 5999);
  const sizes = k.calls.filter((c) => c.name === 'ret_10').map((c) => c.logSize);
  const want = [0];
  for (let n = 4096; ; n *= 4) { want.push(n); if (n > log.length) break; }
  assert.equal(sizes, want, 'no log first, then growing buffers');
  assert.equal(k.openFds(), []);
});

test('E2BIG on the BPF_PROG_LOAD attr: not retried with a log, the errno and hint kept', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'run_entry' ? 'E2BIG' : undefined));
  const e = loadError(k, 'tailcall_run');
  assert.instance(e, SyscallError);
  const s = e as SyscallError;
  assert.is(s.code, 'E2BIG');
  assert.is(s.command, 'BPF_PROG_LOAD');
  assert.is(s.symbol, 'run_entry');
  assert.ok(s.hint.includes('attr'), s.hint);
  assert.is(k.calls.filter((c) => c.name === 'run_entry').length, 1);
  assert.equal(k.openFds(), []);
});

test('EAGAIN from the verifier: tried again, and the program loads', () => {
  const k = new FakeKernel();
  let left = 3;
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'tail_loop' && left-- > 0 ? 'EAGAIN' : undefined));
  const c = load(k, 'tailcall_run');
  assert.ok(c.programs.has('tail_loop'));
  assert.is(k.calls.filter((x) => x.name === 'tail_loop').length, 4);
  k.use(() => c.close());
  assert.equal(k.openFds(), []);
});

test('EAGAIN that never stops: given up after a few tries, nothing left open', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'tail_loop' ? 'EAGAIN' : undefined));
  const e = loadError(k, 'tailcall_run');
  assert.instance(e, TsbpfError);
  assert.ok(k.calls.filter((x) => x.name === 'tail_loop').length <= 12);
  assert.equal(k.openFds(), []);
});

test('EAGAIN that never stops, with a log written: the SyscallError EAGAIN, not a verifier verdict nor a missing program type', () => {
  // what a signal storm does (a CPU profiler's SIGPROF): the verifier wrote its log, then gave up with EAGAIN
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'tail_loop' ? { errno: 'EAGAIN', log: '0: (b7) r0 = 0\nprocessed 2 insns (limit 1000000)\n' } : undefined));
  const e = loadError(k, 'tailcall_run');
  assert.not.instance(e, VerifierError);
  assert.not.instance(e, MissingFeatureError);
  assert.instance(e, SyscallError);
  assert.is((e as SyscallError).code, 'EAGAIN');
  assert.is((e as SyscallError).symbol, 'tail_loop');
  assert.equal(k.openFds(), []);
});

test('a feature probe that gets EAGAIN is tried again (libbpf retries BPF_PROG_LOAD so), not cached as a missing feature', () => {
  const k = new FakeKernel();
  let left = 2;
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === '' && left-- > 0 ? 'EAGAIN' : undefined));
  assert.ok(k.use(() => hasProgType('xdp')));
  assert.is(left, -1, 'two EAGAINs, then the probe loaded');
});

test('a failure injected at every kernel call of a load: all fds closed and pins removed, or a working collection', () => {
  withPinRoot((pinRoot) => {
    for (const f of FIXTURES) {
      const probe = new FakeKernel();
      const c = load(probe, f, { pinRoot });
      const n = probe.calls.filter((x) => x.command !== 'close').length; // the load's calls (not close()'s)
      probe.use(() => { c.unpin(true); c.close(); });
      assert.ok(n > 3, `${f}: ${n} calls`);
      for (let i = 1; i <= n; i++) {
        for (const code of ['ENOMEM', 'EINVAL']) {
          const k = new FakeKernel();
          k.failAt(i, code);
          const at = `${f}: call ${i} (${probe.calls.filter((x) => x.command !== 'close')[i - 1]!.command}) failing with ${code}`;
          let loaded: Collection | undefined;
          try { loaded = load(k, f, { pinRoot }); } catch (e) {
            assert.instance(e, TsbpfError, at);
            assert.is((e as TsbpfError).file, obj(f), `${at}: names the file`);
          }
          if (loaded) { const l = loaded; k.use(() => { l.unpin(true); l.close(); }); }
          assert.equal(k.openFds(), [], `${at}: fds left open`);
          assert.equal(k.registeredStructOps(), [], `${at}: struct_ops maps left registered`);
          assert.equal(k.livePins(), [], `${at}: pins left`);
          assert.not.ok(existsSync(path.join(pinRoot, 'tsbpf_pinned')), `${at}: pin file left`);
          k.unpinAll();
        }
      }
    }
  });
});

test.run();
