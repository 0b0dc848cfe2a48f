// End to end: tailcall_uretprobe's uretprobe_entry attached to the return of bash's readline;
// an interactive bash in a pty (util-linux `script`) reads the lines this test types; every
// line comes back through the perf buffer, decoded as `struct event`, carrying the line and
// the slot of the handler the tail call reached (135 for an odd return value, 146 for even).
import * as assert from 'uvu/assert';
import { test as uvuTest } from 'uvu';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, EventReader, type EventRecord } from '../../src/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const suite = kernelSuite('events-uretprobe');
const tools = existsSync('/bin/bash') && spawnSync('script', ['--version']).status === 0;
if (suite.run && !tools) console.log('# events-uretprobe (kernel): SKIPPED: needs /bin/bash and util-linux script');
const test = tools ? suite.test : uvuTest.skip;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Event { slot: number; pid: number; rc: bigint; line: string }

test('lines typed into bash come back decoded, with the mark of the tail-called handler', async () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/tailcall_uretprobe.bpf.o'));
  const link = c.programs.get('uretprobe_entry')!.attach({ binary: '/bin/bash', symbol: 'readline' });
  const reader = EventReader.open(c.maps.get('events')!, { type: 'struct event' });
  const marker = `tsbpf-${process.pid}`;
  const typed = [`echo ${marker}-one`, `echo ${marker}-two`, `: ${marker}-three`];
  const sh = spawn('script', ['-qfec', 'bash --norc --noprofile -i', '/dev/null'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb', PS1: '$ ', HOME: '/tmp' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  sh.stdout.on('data', (d) => { out += String(d); });
  const exited = new Promise<number | null>((res) => sh.on('exit', res));
  try {
    const got: Array<{ rec: EventRecord; ev: Event }> = [];
    const collect = (async () => {
      const deadline = Date.now() + 20000;
      while (got.length < typed.length && Date.now() < deadline) {
        const rec = await reader.read({ timeoutMs: 500 });
        if (rec && (rec.value as unknown as Event).line.includes(marker)) got.push({ rec, ev: rec.value as unknown as Event });
      }
    })();
    for (const line of typed) {
      await new Promise((r) => setTimeout(r, 150));
      sh.stdin.write(`${line}\n`);
    }
    await collect;
    assert.equal(got.map((g) => g.ev.line), typed, `every line, in order (bash printed: ${JSON.stringify(out.slice(-300))})`);
    for (const { rec, ev } of got) {
      assert.is(ev.slot, (ev.rc & 1n) === 1n ? 135 : 146, 'the handler the tail call reached matches the parity of the return value');
      assert.ok(ev.pid > 0 && ev.pid !== process.pid, 'sent from the bash process');
      assert.is(ev.pid, got[0]!.ev.pid, 'one bash');
      assert.ok(rec.cpu! >= 0);
      assert.is(rec.data.length, 84, 'struct event (80 bytes) padded by perf to 84');
    }
    assert.match(out, new RegExp(`${marker}-one`), 'bash ran the lines');
  } finally {
    sh.stdin.end('exit\n');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (code === 'timeout') sh.kill('SIGKILL');
    reader.close();
    link.close();
    c.close();
  }
});

uvuTest.run();
