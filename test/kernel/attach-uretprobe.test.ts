// The README's example end to end: tailcall_uretprobe's entry program as a uretprobe on
// /bin/bash's readline, an interactive bash under a pty (script -qc) typing lines; each
// return of readline runs the entry program, which tail-calls slot 135 or 146 of its
// statically initialised table by the parity of readline's return value, and the
// tail-called handler sends an event through the perf event array that the test reads.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Collection, BpfLink } from '../../src/index.js';
import { EventReader } from '../../src/events/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { assertClean, fdCount } from '../helpers/leaks.js';
import { startTarget, targetBinary } from '../helpers/target.js';

const { test } = kernelSuite('attach-uretprobe');
const SCRIPT = ['/usr/bin/script', '/bin/script'].find(existsSync);

/** Runs an interactive bash under a pty, types `lines` then exit; resolves when it is gone. */
function typeIntoBash(lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(SCRIPT!, ['-qfc', 'bash --norc --noprofile -i', '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, PS1: '$ ', TERM: 'dumb' } });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error('bash under script did not exit in 60 s')); }, 60_000);
    p.on('close', () => { clearTimeout(timer); resolve(); });
    p.on('error', reject);
    // one line at a time: readline returns once per line
    let i = 0;
    const next = () => {
      if (i < lines.length) { p.stdin!.write(`${lines[i++]}\n`); setTimeout(next, 200); } else p.stdin!.end('exit\n');
    };
    setTimeout(next, 500);
  });
}

test('uretprobe on /bin/bash:readline: every typed line runs the entry program and the handler of the slot its return value picks', async () => {
  assert.ok(SCRIPT, 'script(1) (util-linux / bsdutils) runs bash under a pty for this test');
  const before = fdCount();
  const c = Collection.loadFile('bpf-objs/tailcall_uretprobe.bpf.o');
  let id = 0;
  try {
    const link = c.programs.get('uretprobe_entry')!.attach({ binary: '/bin/bash', symbol: 'readline', retprobe: true });
    const reader = EventReader.open(c.maps.get('events')!).decode('struct event');
    try {
      if (link instanceof BpfLink) id = link.info().id;
      assert.is(link.target, '/bin/bash:readline');
      const lines = ['true', 'echo tsbpf', ':'];
      await typeIntoBash(lines);
      const events: Array<{ slot: number; pid: number; rc: bigint; line: string }> = [];
      reader.drain((r) => { events.push(r.value as { slot: number; pid: number; rc: bigint; line: string }); });
      // bash may call readline a few more times (its exit line, a read at EOF), never fewer
      assert.ok(events.length >= lines.length + 1, `${events.length} events for ${lines.length + 1} lines`);
      for (const e of events) {
        assert.is(e.slot, (BigInt(e.rc) & 1n) === 1n ? 135 : 146, `slot of rc ${e.rc}`);
        assert.ok(e.pid > 0 && e.pid !== process.pid);
      }
      assert.equal(events.map((e) => e.line).filter((l) => l !== '').slice(0, lines.length + 1), [...lines, 'exit'], 'the lines typed, in order');
    } finally { reader.close(); link.close(); }
  } finally { c.close(); }
  await assertClean(before, id ? [id] : [], 'uretprobe bash');
});

test('the same dispatcher on a function whose return values alternate: odd ones reach slot 135 (handle_odd), even ones slot 146', async () => {
  const before = fdCount();
  const c = Collection.loadFile('bpf-objs/tailcall_uretprobe.bpf.o');
  const t = startTarget(6); // tsbpf_target_add(i, 1) returns 1, 2, ..., 6
  let id = 0;
  try {
    const link = c.programs.get('uretprobe_entry')!.attach({ binary: targetBinary(), symbol: 'tsbpf_target_add', retprobe: true, pid: t.pid });
    const reader = EventReader.open(c.maps.get('events')!);
    try {
      if (link instanceof BpfLink) id = link.info().id;
      await t.go();
      const got: Array<[number, bigint]> = [];
      reader.drain((r) => { got.push([r.data.readUInt32LE(0), r.data.readBigInt64LE(8)]); });
      got.sort((a, b) => Number(a[1] - b[1]));
      assert.equal(got, [[135, 1n], [146, 2n], [135, 3n], [146, 4n], [135, 5n], [146, 6n]]);
    } finally { reader.close(); link.close(); }
  } finally { await t.kill(); c.close(); }
  await assertClean(before, id ? [id] : [], 'uretprobe dispatcher');
});

uvuTest.run();
