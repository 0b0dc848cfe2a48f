// bpf_printk lines read from a private tracefs instance: the fixture's say_hello, fired with
// BPF_PROG_TEST_RUN from this process, prints "tsbpf-events tag=<pid> seq=<n>".
import * as assert from 'uvu/assert';
import { test as uvuTest } from 'uvu';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/index.js';
import { EventsError, TracePipe, type TraceLine } from '../../src/events/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('trace');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/events.bpf.o');
const TAG = process.pid >>> 0;

function hello(c: Collection, repeat: number): void {
  const p = new Uint8Array(64);
  new DataView(p.buffer).setUint32(0, TAG, true);
  c.programs.get('say_hello')!.testRun({ data: p, repeat });
}

test('bpf_printk lines, parsed, from a private instance (which close() removes)', async () => {
  const c = Collection.loadFile(file);
  const t = TracePipe.open();
  try {
    assert.match(t.dir, new RegExp(`/instances/tsbpf_${process.pid}_\\d+$`));
    assert.ok(existsSync(t.dir));
    setTimeout(() => hello(c, 3), 50);
    const mine: TraceLine[] = [];
    for await (const line of t) {
      if (line.message.startsWith(`tsbpf-events tag=${TAG} `)) mine.push(line);
      if (mine.length === 3) break;
    }
    assert.equal(mine.map((l) => l.message), [0, 1, 2].map((i) => `tsbpf-events tag=${TAG} seq=${i}`));
    for (const l of mine) {
      assert.is(l.event, 'bpf_trace_printk');
      assert.is(l.pid, process.pid, 'printed from this thread (the test run runs in it)');
      assert.ok(l.cpu >= 0 && l.timestamp > 0);
    }
    hello(c, 1);
    const next = await t.read({ timeoutMs: 5000 });
    assert.is(next?.message, `tsbpf-events tag=${TAG} seq=3`);
    assert.is(await t.read({ timeoutMs: 30 }), undefined, 'timeout');
  } finally {
    const dir = t.dir;
    t.close();
    c.close();
    assert.not.ok(existsSync(dir), 'instance removed');
  }
  assert.throws(() => t.close(), (e: Error) => e instanceof EventsError && e.reason === 'closed');
});

test('two readers each get every line: instances do not take lines from each other', async () => {
  const c = Collection.loadFile(file);
  const a = TracePipe.open(), b = TracePipe.open();
  try {
    hello(c, 2);
    for (const t of [a, b]) {
      const got: string[] = [];
      while (got.length < 2) {
        const l = await t.read({ timeoutMs: 5000 });
        assert.ok(l, 'a line came');
        if (l!.message.startsWith(`tsbpf-events tag=${TAG} `)) got.push(l!.message);
      }
      assert.equal(got, [0, 1].map((i) => `tsbpf-events tag=${TAG} seq=${i}`));
    }
  } finally { a.close(); b.close(); c.close(); }
});

uvuTest.run();
