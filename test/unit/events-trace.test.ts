// trace_pipe lines as the kernel prints them (kernel/trace/trace_output.c), in the shapes
// older and newer kernels and tracefs options give them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTraceLine } from '../../src/events/trace.js';

test('a bpf_printk line of Linux 6.x (five flag columns)', () => {
  assert.equal(parseTraceLine('            node-4321    [001] d..31  1234.567890: bpf_trace_printk: tsbpf-events tag=4321 seq=0'), {
    comm: 'node', pid: 4321, cpu: 1, flags: 'd..31', timestamp: 1234.56789, event: 'bpf_trace_printk', message: 'tsbpf-events tag=4321 seq=0',
  });
});

test('older kernels (four flag columns), no flags (irq-info off), a tgid column (record-tgid)', () => {
  assert.equal(parseTraceLine('          <idle>-0     [000] ..s.   42.000001: bpf_trace_printk: hi'), {
    comm: '<idle>', pid: 0, cpu: 0, flags: '..s.', timestamp: 42.000001, event: 'bpf_trace_printk', message: 'hi',
  });
  assert.equal(parseTraceLine('bash-77 [003] 5.5: bpf_trace_printk: x: y'), {
    comm: 'bash', pid: 77, cpu: 3, timestamp: 5.5, event: 'bpf_trace_printk', message: 'x: y',
  });
  assert.equal(parseTraceLine('  worker-12  (     10) [002] .... 7.000000: bpf_trace_printk: t')!.tgid, 10);
  assert.is(parseTraceLine('  worker-12  (-------) [002] .... 7.000000: bpf_trace_printk: t')!.tgid, undefined);
});

test('task names with dashes and spaces; an empty message; lines that are not events', () => {
  const l = parseTraceLine(' kworker/u8:2-events-unbound-118   [000] d..2.  9.1: bpf_trace_printk: ')!;
  assert.is(l.comm, 'kworker/u8:2-events-unbound');
  assert.is(l.pid, 118);
  assert.is(l.message, '');
  assert.is(parseTraceLine('Web Content-99 [1] .... 1.0: bpf_trace_printk: m')!.comm, 'Web Content');
  assert.is(parseTraceLine('# tracer: nop'), undefined);
  assert.is(parseTraceLine('CPU:1 [LOST 12 EVENTS]'), undefined);
  assert.is(parseTraceLine(''), undefined);
});

test.run();
