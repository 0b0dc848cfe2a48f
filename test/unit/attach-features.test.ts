// The attach feature probes (src/link/features.ts) against the fake kernel: a probe reads
// the errno the kernel refused with (a typed field), never the text of its own reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kprobeMultiSupported } from '../../src/link/features.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

test('kprobe_multi: EOPNOTSUPP from BPF_LINK_CREATE is a kernel without CONFIG_FPROBE', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_LINK_CREATE' ? 'EOPNOTSUPP' : undefined));
  const f = k.use(() => kprobeMultiSupported());
  assert.is(f.ok, false);
  assert.match(f.why ?? '', /CONFIG_FPROBE/);
  assert.equal(k.openFds(), []);
});

test('kprobe_multi: ENOENT for the made-up function is the feature there', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_LINK_CREATE' ? 'ENOENT' : undefined));
  assert.equal(k.use(() => kprobeMultiSupported()), { ok: true });
  assert.equal(k.openFds(), []);
});

test('kprobe_multi: a probe program the kernel refuses with EOPNOTSUPP is not taken for CONFIG_FPROBE', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' ? 'EOPNOTSUPP' : undefined));
  const f = k.use(() => kprobeMultiSupported());
  assert.is(f.ok, false);
  assert.not.match(f.why ?? '', /CONFIG_FPROBE/, f.why);
  assert.match(f.why ?? '', /does not load/);
  assert.equal(k.calls.filter((c) => c.command === 'BPF_LINK_CREATE'), []);
});

test.run();
