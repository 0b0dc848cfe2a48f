// Map definition rules checked before BPF_MAP_CREATE (src/load/map-rules.ts), without a
// kernel: which field each broken shape names, what is never refused, and the legacy
// definitions' bytes past struct bpf_map_def (test/kernel/messages.test.ts sends the same
// shapes to the kernel).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, MapDefinitionError, mapFieldProblem } from '../../src/index.js';
import { legacyExtraByte, ringbufSize } from '../../src/load/map-rules.js';
import { BPF_F_STACK_BUILD_ID } from '../../src/kernel/enums.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('stack trace value_size: a non-zero multiple of 8, of 32 with BPF_F_STACK_BUILD_ID; what the rules cannot know is let through', () => {
  const st = { type: 'stack_trace' as const, keySize: 4, valueSize: 8 * 127, maxEntries: 64, flags: 0 };
  assert.is(mapFieldProblem(st), undefined);
  assert.equal(mapFieldProblem({ ...st, valueSize: 0 }), { field: 'value_size', value: 0, want: 'a non-zero multiple of 8: one u64 per frame, e.g. 127 * 8', reason: 'field-zero' });
  assert.is(mapFieldProblem({ ...st, valueSize: 8 * 127, flags: BPF_F_STACK_BUILD_ID })?.reason, 'field-out-of-range');
  assert.is(mapFieldProblem({ ...st, valueSize: 32 * 4, flags: BPF_F_STACK_BUILD_ID }), undefined);
  // deeper than kernel.perf_event_max_stack depends on the sysctl: not a rule
  assert.is(mapFieldProblem({ ...st, valueSize: 8 * 100000 }), undefined);
  // cgroup storage: max_entries must be 0; key 8 or 16 (8 only from Linux 5.9: both let through)
  assert.is(mapFieldProblem({ type: 'cgroup_storage', keySize: 8, valueSize: 8, maxEntries: 0, flags: 0 }), undefined);
  assert.is(mapFieldProblem({ type: 'cgroup_storage', keySize: 16, valueSize: 8, maxEntries: 1, flags: 0 })?.field, 'max_entries');
  // types without rules (struct_ops) pass
  assert.is(mapFieldProblem({ type: 'struct_ops', keySize: 0, valueSize: 0, maxEntries: 0, flags: 0 }), undefined);
});

test('ring buffer sizes as libbpf adjusts them: a power of two times the page size, rounded up; 0 left for the user', () => {
  assert.is(ringbufSize(0, 4096), 0);
  assert.is(ringbufSize(4096, 4096), 4096);
  assert.is(ringbufSize(256 * 1024, 4096), 256 * 1024);
  assert.is(ringbufSize(10000, 4096), 16384);
  assert.is(ringbufSize(3 * 4096, 4096), 16384);
  assert.is(ringbufSize(1, 4096), 4096);
  assert.is(ringbufSize(65536, 65536), 65536, '64 KiB pages');
  assert.is(ringbufSize(4096, 65536), 65536);
  assert.is(ringbufSize(0xffffff00, 4096), 0xffffff00, 'nothing fits: left for the kernel to refuse');
});

test('legacy bytes past struct bpf_map_def: the first non-zero one; none, all zeros and iproute2\'s bpf_elf_map pass', () => {
  assert.is(legacyExtraByte(undefined), undefined);
  assert.is(legacyExtraByte(new Uint8Array(8)), undefined);
  assert.equal(legacyExtraByte(Uint8Array.of(0, 0, 7, 0)), { index: 2, value: 7 });
  assert.is(legacyExtraByte(Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), undefined, 'iproute2: id 1, pinning 2 (PIN_GLOBAL_NS)');
});

test('the refusals come before any bpf(2) call (fake kernel): nothing to undo', () => {
  for (const file of ['map_unsized', 'legacy_extra']) {
    const spec = loadCollectionSpec(path.join(root, 'bpf-objs', `${file}.bpf.o`));
    const k = new FakeKernel();
    let err: unknown;
    try { k.use(() => Collection.load(spec)); } catch (e) { err = e; }
    assert.instance(err, MapDefinitionError, file);
    assert.equal(k.calls.filter((c) => c.command === 'BPF_MAP_CREATE' || c.command === 'BPF_PROG_LOAD'), [], `${file}: no map or program made`);
    assert.equal(k.openFds(), [], `${file}: no fd open`);
  }
});

test.run();
