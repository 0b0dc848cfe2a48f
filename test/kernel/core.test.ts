// CO-RE against the running kernel: the core fixture is loaded (its relocations resolved
// against /sys/kernel/btf/vmlinux) and run; the values it stores are compared with what
// this test reads from vmlinux BTF itself (src/btf only, not the CO-RE engine).
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf, Collection } from '../../src/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('core');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('core fixture: type size, enum value and type existence match vmlinux BTF', () => {
  assert.ok(existsSync('/sys/kernel/btf/vmlinux'), 'the kernel has BTF');
  const vmlinux = Btf.parse(readFileSync('/sys/kernel/btf/vmlinux'));
  const task = vmlinux.typeByName('task_struct', 'struct')!;
  const pidType = vmlinux.typeByName('pid_type', 'enum');
  const tgid = pidType?.kind === 'enum' ? pidType.values.find((v) => v.name === 'PIDTYPE_TGID') : undefined;
  const hasIterNum = vmlinux.typeByName('bpf_iter_num', 'struct') ? 1 : 0;

  const c = Collection.loadFile(path.join(root, 'bpf-objs/core.bpf.o'));
  try {
    assert.ok(c.programs.has('on_switch_btf'), 'tp_btf program loaded (attach BTF id resolved)');
    // raw_tp test run: args = [preempt, prev, next]; NULL tasks make the probe reads 0
    const r = c.programs.get('on_switch_raw')!.testRun({ ctx: new Uint8Array(24) });
    assert.is(r.retval, 0);
    const seen = (c.maps.get('.bss')!.lookup(0) as Record<string, Record<string, unknown>>).seen!;
    assert.is(seen.has_task, 1);
    assert.is(seen.task_size, vmlinux.sizeof(task.id), 'bpf_core_type_size(struct task_struct)');
    assert.is(seen.has_tgid_enum, tgid ? 1 : 0);
    assert.is(seen.tgid_enum, tgid?.value ?? 0, 'bpf_core_enum_value(enum pid_type, PIDTYPE_TGID)');
    assert.is(seen.has_iter_num, hasIterNum);
    assert.is(seen.prev_pid, 0);
  } finally { c.close(); }
});

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test('tp_btf attached through a link: task_struct.pid read through CO-RE is this process\'s pid when it is switched in; closed, it stops', () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/core.bpf.o'), { programs: ['on_switch_btf'] });
  try {
    const bss = c.maps.get('.bss')!;
    const seen = () => (bss.lookup(0) as Record<string, Record<string, number>>).seen!;
    const link = c.programs.get('on_switch_btf')!.attach();
    let ours = 0, samples = 0, last: Record<string, number> = {};
    try {
      assert.ok(link.info().id > 0);
      // waking up from a sleep is a switch to this thread (next = us); other CPUs may
      // overwrite the global before we read it, so sample until we see our own pid
      for (; samples < 400 && ours < 3; samples++) {
        sleep(2);
        last = seen();
        if (last.next_pid === process.pid || last.prev_pid === process.pid) ours++;
      }
    } finally { link.close(); }
    assert.ok(ours > 0, `this process's pid ${process.pid} seen as prev/next in ${ours} of ${samples} samples (last: prev ${last.prev_pid}, next ${last.next_pid})`);
    assert.is(last.has_new_state + last.has_old_state, 1, 'one of the two task state layouts exists');
    bss.update(0, new Uint8Array(bss.valueSize));
    sleep(50);
    assert.is(seen().next_pid, 0, 'no switch recorded after the link was closed');
  } finally { c.close(); }
});

uvuTest.run();
