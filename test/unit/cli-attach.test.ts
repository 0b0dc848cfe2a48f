// --attach PROG=TARGET: one TARGET syntax per hook, read against the program's type and
// section before anything is loaded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTarget } from '../../src/cli/attach.js';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import { sectionDef } from '../../src/spec/sections.js';
import type { ProgramSpec } from '../../src/spec/types.js';

function prog(section: string, name = 'p'): ProgramSpec {
  const d = sectionDef(section)!;
  return { name, section, type: d.progType, ...(d.attachType ? { attachType: d.attachType } : {}) } as ProgramSpec;
}

test('TARGET per hook', () => {
  assert.equal(parseTarget(prog('kprobe'), 'do_unlinkat'), { function: 'do_unlinkat' });
  assert.equal(parseTarget(prog('kretprobe'), 'do_sys_open+0x10'), { function: 'do_sys_open', offset: 16 });
  assert.equal(parseTarget(prog('ksyscall'), 'execve'), { syscall: 'execve' });
  assert.equal(parseTarget(prog('kprobe.multi'), 'vfs_*'), { functions: 'vfs_*' });
  assert.equal(parseTarget(prog('uretprobe'), '/bin/bash:readline'), { binary: '/bin/bash', symbol: 'readline' });
  assert.equal(parseTarget(prog('uprobe'), 'libc.so.6:malloc+8'), { binary: 'libc.so.6', symbol: 'malloc', offset: 8 });
  assert.equal(parseTarget(prog('uprobe'), './a.out:0x1139'), { binary: './a.out', offset: 0x1139 });
  assert.equal(parseTarget(prog('uprobe.multi'), '/usr/bin/x:tsbpf_*'), { binary: '/usr/bin/x', symbols: 'tsbpf_*' });
  assert.equal(parseTarget(prog('tracepoint'), 'syscalls/sys_enter_execve'), { tracepoint: 'syscalls/sys_enter_execve' });
  assert.equal(parseTarget(prog('raw_tp'), 'sched_switch'), { tracepoint: 'sched_switch' });
  assert.equal(parseTarget(prog('xdp'), 'eth0'), { ifname: 'eth0' });
  assert.equal(parseTarget(prog('xdp'), 'veth1:skb@blue'), { ifname: 'veth1', mode: 'skb', netns: 'blue' });
  assert.equal(parseTarget(prog('tc'), 'eth0:egress'), { ifname: 'eth0', direction: 'egress' });
  assert.equal(parseTarget(prog('tcx/ingress'), 'eth0@/run/netns/x'), { ifname: 'eth0', netns: '/run/netns/x' });
  assert.equal(parseTarget(prog('cgroup_skb/egress'), '/sys/fs/cgroup/app'), { cgroup: '/sys/fs/cgroup/app' });
  assert.equal(parseTarget(prog('sk_lookup'), 'blue'), { netns: 'blue' });
  assert.equal(parseTarget(prog('sk_msg'), 'sock_map'), { mapName: 'sock_map' });
  assert.equal(parseTarget(prog('perf_event'), 'freq=99,cpu=1'), { frequency: 99, cpu: 1 });
  assert.equal(parseTarget(prog('perf_event'), 'period=100000,event=cycles'), { period: 100000, type: 'hardware', config: 0 });
});

test('TARGETs that do not fit the hook are usage errors naming the option', () => {
  const bad = (section: string, t: string, re: RegExp) => assert.throws(() => parseTarget(prog(section, 'q'), t), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.startsWith(`--attach q=${t}:`));
  bad('tc', 'eth0', /names no direction: write IFNAME:ingress or IFNAME:egress/);
  bad('tc', 'eth0:sideways', /expected ingress or egress/);
  bad('uprobe', 'readline', /expected BINARY:SYMBOL/);
  bad('tracepoint', 'a/b/c', /CATEGORY\/NAME/);
  bad('cgroup/connect4', 'app', /cgroup v2 directory/);
  bad('perf_event', 'freq=fast', /freq=fast: expected a number/);
  bad('perf_event', 'hz=9', /expected freq=HZ/);
  bad('fentry/do_unlinkat', 'x', /take no TARGET .*use --attach alone/);
  bad('kprobe', 'f+zz', /'zz' is not an offset/);
  bad('kprobe', '', /empty TARGET/);
});

test('--attach alone, --attach PROG=TARGET, and the two together', () => {
  assert.equal([parseArgs(['--attach', 'x.o']).attach, parseArgs(['--attach', 'x.o']).attachTargets], [true, []]);
  assert.equal(parseArgs(['x.o', '--attach']).attachTargets, []);
  assert.equal(parseArgs(['--attach', 'p=eth0:egress', 'x.o']).attachTargets, [{ program: 'p', target: 'eth0:egress' }]);
  assert.equal(parseArgs(['--attach=p=/bin/bash:readline', '--attach', '--json', 'x.o']).attachTargets, [{ program: 'p', target: '/bin/bash:readline' }]);
  assert.is(parseArgs(['--attach', '--duration', '1.5', 'x.o']).duration, 1.5);
  assert.equal(parseArgs(['--', '--attach']).files, ['--attach'], 'after -- everything is an object');
});

test.run();
