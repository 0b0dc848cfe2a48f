// The syscalls behind attaching, through src/sys: perf_event_open + the perf ioctls,
// rtnetlink sockets, setns into a network namespace. Needs root.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import {
  Fd, SyscallError, perfEventOpen, perfEventIoctl, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_SET_BPF,
  PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, NetlinkSocket, RTM, NLM_F, TCMSG, TCMSG_SIZE, encodeAttr, withNetns,
  ifNameToIndex, ifIndexToName, progLoad, linkCreatePerfEvent,
} from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { TestNetns } from '../helpers/net.js';

const { test } = kernelSuite('sys-attach');

const fdCount = () => readdirSync('/proc/self/fd').length;
const RET0 = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

test('perf_event_open: a software event of this process, enabled and disabled by ioctl', () => {
  const before = fdCount();
  const fd = new Fd(perfEventOpen({ attr: { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sample_period: 1_000_000 }, flags: ['disabled'], pid: 0, cpu: -1 }), 'cpu-clock');
  try {
    perfEventIoctl(fd, PERF_EVENT_IOC_ENABLE);
    perfEventIoctl(fd, PERF_EVENT_IOC_DISABLE);
    // SET_BPF of a program that is not a perf_event/kprobe/tracepoint program: refused with EINVAL
    const prog = new Fd(progLoad({ type: 'socket_filter', insns: RET0, license: 'GPL' }), 'socket filter');
    try {
      assert.throws(() => perfEventIoctl(fd, PERF_EVENT_IOC_SET_BPF, prog.value), (e: unknown) => e instanceof SyscallError && e.command === 'PERF_EVENT_IOC_SET_BPF' && e.code === 'EINVAL');
      assert.throws(() => linkCreatePerfEvent(prog, fd), (e: unknown) => e instanceof SyscallError && e.command === 'BPF_LINK_CREATE');
    } finally { prog.close(); }
  } finally { fd.close(); }
  assert.is(fdCount(), before);
});

test('perf_event_open: errors are SyscallErrors naming perf_event_open', () => {
  assert.throws(() => perfEventOpen({ attr: { type: 0x7fffffff, config: 0 }, pid: -1, cpu: 0 }), (e: unknown) => e instanceof SyscallError && e.command === 'perf_event_open' && (e.code === 'ENOENT' || e.code === 'EINVAL'));
});

test('setns: an interface index in another namespace, rtnetlink there, and back', () => {
  const ns = new TestNetns();
  const before = fdCount();
  try {
    const outside = ifNameToIndex('lo');
    const inside = withNetns(ns.path, () => {
      assert.is(ifIndexToName(1), 'lo');
      assert.is(ifNameToIndex('no-such-if0'), 0);
      // a qdisc dump of lo in the new namespace
      const sock = NetlinkSocket.open();
      try {
        const body = encodeAttr(TCMSG, { tcm_ifindex: 1 }).bytes;
        assert.is(body.length, TCMSG_SIZE);
        const msgs = sock.request('RTM_GETQDISC', RTM.RTM_GETQDISC, NLM_F.DUMP, body);
        assert.ok(msgs.every((m) => m.type === RTM.RTM_NEWQDISC));
        // deleting a qdisc that is not there: a negative ACK with the kernel's reason
        assert.throws(() => sock.request('RTM_DELQDISC', RTM.RTM_DELQDISC, NLM_F.ACK, encodeAttr(TCMSG, { tcm_ifindex: 1, tcm_parent: 0xfffffff1 }).bytes),
          (e: unknown) => e instanceof SyscallError && e.command === 'RTM_DELQDISC' && typeof e.errno === 'number' && e.errno > 0);
      } finally { sock.close(); }
      return ifNameToIndex('lo');
    });
    assert.is(inside, 1);
    assert.is(ifNameToIndex('lo'), outside, 'back in the original namespace');
    assert.throws(() => withNetns('/run/netns/tsbpf-no-such-ns', () => 0), /network namespace .*cannot open/);
  } finally { ns.close(); }
  assert.is(fdCount(), before);
});

uvuTest.run();
