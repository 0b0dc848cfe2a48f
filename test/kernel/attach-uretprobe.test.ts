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
import { assertClean, fdSnapshot, startWaiter } from '../helpers/leaks.js';
import { startTarget, targetBinary } from '../helpers/target.js';

const { test } = kernelSuite('attach-uretprobe');
const SCRIPT = ['/usr/bin/script', '/bin/script'].find(existsSync);

type BashEvent = { slot: number; pid: number; rc: bigint; line: string };
/** A no-op command line only this run types. */
const READY = `: ready-${process.pid}`;

/**
 * Runs an interactive bash under a pty and types into it only when it is reading: a
 * readiness line (`: ready-<our pid>`) is sent every 300 ms until readline's return comes
 * back as an event (a slow start can swallow what arrives before readline sets up the
 * terminal), then each of `lines` and `exit`, each after the previous one's event came back.
 * The probe is on /bin/bash for every process: events from another bash (another test run
 * on the same kernel) are dropped by pid, the pid of the bash that returned our readiness
 * line. Returns our bash's events, in order.
 */
async function typeIntoBash(reader: EventReader, lines: string[]): Promise<BashEvent[]> {
  const p = spawn(SCRIPT!, ['-qfc', 'bash --norc --noprofile -i', '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, PS1: '$ ', TERM: 'dumb' } });
  const exited = new Promise<void>((resolve, reject) => { p.on('close', () => resolve()); p.on('error', reject); });
  const events: BashEvent[] = [];
  let bashPid = 0;
  /** Keeps the events of our bash (known from its readiness line) and drops other processes'. */
  const take = (e: BashEvent): void => {
    if (bashPid === 0 && e.line === READY) bashPid = e.pid;
    if (bashPid !== 0 && e.pid === bashPid) events.push(e);
  };
  const deadline = Date.now() + 60_000;
  /** Reads until an event whose line is `want` arrives; writes `resend` every 300 ms meanwhile. */
  const waitFor = async (want: string, resend?: string): Promise<void> => {
    for (;;) {
      if (Date.now() > deadline) { p.kill('SIGKILL'); throw new Error(`bash under script: no readline return for ${JSON.stringify(want)} in 60 s (${events.length} events)`); }
      if (resend !== undefined) p.stdin!.write(`${resend}\n`);
      const r = await reader.read({ timeoutMs: 300 });
      if (!r) continue;
      take(r.value as BashEvent);
      reader.drain((x) => take(x.value as BashEvent));
      if (events.some((x) => x.line === want)) return;
    }
  };
  try {
    await waitFor(READY, READY);
    for (const line of [...lines, 'exit']) {
      const mark = events.length;
      p.stdin!.write(`${line}\n`);
      await waitFor(line);
      // the line's event must be the first non-empty, non-readiness one after it was typed
      assert.equal(events.slice(mark).map((e) => e.line).filter((l) => l !== '' && l !== READY)[0], line, `the event after typing ${JSON.stringify(line)}`);
    }
    p.stdin!.end();
    await exited;
  } finally { if (p.exitCode === null) p.kill('SIGKILL'); }
  reader.drain((x) => take(x.value as BashEvent));
  return events;
}

test('uretprobe on /bin/bash:readline: every typed line runs the entry program and the handler of the slot its return value picks', async () => {
  assert.ok(SCRIPT, 'script(1) (util-linux / bsdutils) runs bash under a pty for this test');
  await startWaiter(); // the epoll worker's fds stay open once started: not a leak
  const before = fdSnapshot();
  const c = Collection.loadFile('bpf-objs/tailcall_uretprobe.bpf.o');
  let id = 0;
  try {
    const link = c.programs.get('uretprobe_entry')!.attach({ binary: '/bin/bash', symbol: 'readline', retprobe: true });
    const reader = EventReader.open(c.maps.get('events')!).decode('struct event');
    try {
      if (link instanceof BpfLink) id = link.info().id;
      assert.is(link.target, '/bin/bash:readline');
      const lines = ['true', 'echo tsbpf', 'true tsbpf'];
      const events = await typeIntoBash(reader, lines);
      assert.ok(events.length >= lines.length + 2, `${events.length} events for ${lines.length + 1} lines and the readiness line`);
      for (const e of events) {
        assert.is(e.slot, (BigInt(e.rc) & 1n) === 1n ? 135 : 146, `slot of rc ${e.rc}`);
        assert.ok(e.pid > 0 && e.pid !== process.pid);
      }
      assert.equal(events.map((e) => e.line).filter((l) => l !== '' && l !== READY), [...lines, 'exit'], 'the lines typed, in order');
    } finally { reader.close(); link.close(); }
  } finally { c.close(); }
  await assertClean(before, id ? [id] : [], 'uretprobe bash');
});

test('the same dispatcher on a function whose return values alternate: odd ones reach slot 135 (handle_odd), even ones slot 146', async () => {
  const before = fdSnapshot();
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
