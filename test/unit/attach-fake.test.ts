// Attach refusals without root, against the fake kernel (src/sys's overrideKernel seam): an
// unprivileged caller gets AttachError reason 'permission' naming the hook, and nothing
// opened for the attach is left (fds of the fake kernel, tracefs events).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection, AttachError } from '../../src/index.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { errnoNumber, libcFailure } from '../../src/sys/index.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

/** The fake kernel, with perf_event_open (through syscall(2)) and if_nametoindex answered. */
class AttachKernel extends FakeKernel {
  perfCalls = 0;
  override libc(name: string, args: readonly unknown[]): unknown {
    if (name === 'syscall') { this.perfCalls++; return libcFailure(errnoNumber('EACCES')!); } // perf_event_open as an unprivileged caller
    if (name === 'if_nametoindex') return args[0] === 'lo' ? 1 : 0;
    return super.libc(name, args);
  }
}

test('an unprivileged uprobe: perf_event_open refused -> AttachError permission, nothing left', () => {
  const k = new AttachKernel();
  k.use(() => {
    const c = Collection.load(loadCollectionSpec('bpf-objs/attach_trace.bpf.o'), { programs: ['up_add'] });
    try {
      assert.throws(() => c.programs.get('up_add')!.attach({ binary: '/bin/bash', symbol: 'readline', attachMode: 'perf' }), (e: unknown) =>
        e instanceof AttachError && e.reason === 'permission' && e.hook === 'uprobe' && e.program === 'up_add' && /perf_event_open failed: EACCES/.test(e.message) && /CAP_PERFMON/.test(e.message));
      assert.is(k.perfCalls, 1);
    } finally { c.close(); }
  });
  assert.equal(k.openFds(), []);
});

test('an unprivileged XDP attach: BPF_LINK_CREATE refused -> AttachError permission, nothing left', () => {
  const k = new AttachKernel();
  k.rules.push((call) => (call.command === 'BPF_LINK_CREATE' ? 'EPERM' : undefined));
  k.use(() => {
    const c = Collection.load(loadCollectionSpec('bpf-objs/attach_net.bpf.o'), { programs: ['xdp_count', 'xdp_udp'] });
    try {
      assert.throws(() => c.programs.get('xdp_count')!.attach({ ifname: 'lo' }), (e: unknown) =>
        e instanceof AttachError && e.reason === 'permission' && e.hook === 'xdp' && /xdp on lo \(ifindex 1\)/.test(e.message));
      assert.throws(() => c.programs.get('xdp_count')!.attach({ ifname: 'eth9' }), (e: unknown) =>
        e instanceof AttachError && e.reason === 'not-found' && /no network interface 'eth9'/.test(e.message));
    } finally { c.close(); }
  });
  assert.equal(k.openFds(), []);
});

test.run();
