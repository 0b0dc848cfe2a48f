// BPF iterators: iter programs attached through an iterator link (BPF_LINK_CREATE,
// BPF_TRACE_ITER) and read from BPF_ITER_CREATE fds, checked against what this process
// knows (its own pid) and what it put in the map.
import * as assert from 'uvu/assert';
import { test as uvuTest } from 'uvu';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, TsbpfError } from '../../src/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('iter');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/iter.bpf.o');

test('iter/task: one "<tgid> <pid>" line per task, this process among them', () => {
  const c = Collection.loadFile(file);
  try {
    const link = c.programs.get('dump_task')!.attach();
    try {
      assert.is(link.info().typeName, 'iter', 'BPF_LINK_TYPE_ITER');
      assert.is(link.info().type, 4);
      const lines = link.readIter().toString().trim().split('\n');
      assert.ok(lines.length > 1, `${lines.length} tasks`);
      assert.ok(lines.every((l) => /^\d+ \d+$/.test(l)), 'every line is "<tgid> <pid>"');
      assert.ok(lines.includes(`${process.pid} ${process.pid}`), `this process (${process.pid}) is listed`);
    } finally { link.close(); }
  } finally { c.close(); }
});

test('iter/bpf_map_elem: the map given at attach time, element by element; each read runs the iterator again', () => {
  const c = Collection.loadFile(file);
  try {
    const vals = c.maps.get('vals')!;
    vals.update(1, 10n);
    vals.update(2, 20n);
    const link = c.programs.get('dump_vals')!.attach({ map: vals });
    try {
      const read = () => link.readIter().toString().trim().split('\n').sort();
      assert.equal(read(), ['1=10', '2=20']);
      vals.update(7, 70n);
      assert.equal(read(), ['1=10', '2=20', '7=70'], 'a second read sees the new element');
    } finally { link.close(); }
    // a map for an iterator that takes none: refused (its fd would be read as a task id)
    assert.throws(() => c.programs.get('dump_task')!.attach({ map: vals }), /attach\(\{ map \}\) is for map iterators .*'dump_task' iterates task/);
    // a map iterator without its map: the kernel refuses the link, and the error names the program
    assert.throws(() => c.programs.get('dump_vals')!.attach(), (e: Error) => e instanceof TsbpfError && /dump_vals/.test(e.message) && /BPF_LINK_CREATE/.test(e.message));
  } finally { c.close(); }
});

uvuTest.run();
