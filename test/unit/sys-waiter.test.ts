// epoll/eventfd bindings and the waiter (epoll_wait on a worker thread), over eventfds: no
// privileges needed. struct epoll_event against <sys/epoll.h>; waits that end by readiness,
// timeout and cancel while the event loop keeps running; a process with a wait in flight
// exits at once on process.exit() and stays alive while it waits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EPOLL_EVENT_DATA_OFFSET, EPOLL_EVENT_SIZE, eventfdCreate, eventfdSignal } from '../../src/sys/epoll.js';
import { waitReady } from '../../src/sys/waiter.js';
import { closeFd } from '../../src/sys/syscall.js';
import { haveGcc, runCProbe } from '../helpers/c-probe.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const linux = process.platform === 'linux';

(linux && haveGcc ? test : test.skip)('struct epoll_event matches <sys/epoll.h> on this architecture', () => {
  const out = runCProbe('#include <stdio.h>\n#include <stddef.h>\n#include <sys/epoll.h>\nint main(void){printf("%zu %zu\\n", sizeof(struct epoll_event), offsetof(struct epoll_event, data));return 0;}\n');
  const [size, off] = out.trim().split(' ').map(Number);
  assert.is(EPOLL_EVENT_SIZE, size);
  assert.is(EPOLL_EVENT_DATA_OFFSET, off);
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

(linux ? test : test.skip)('a wait resolves true when the fd becomes readable, while the event loop keeps running', async () => {
  const fd = eventfdCreate();
  try {
    // the signal comes from the 10th tick of a 1 ms interval: it is sent only if the event
    // loop keeps turning while the wait is pending
    let ticks = 0, signalledAt = Infinity;
    const iv = setInterval(() => { if (++ticks === 10) { signalledAt = performance.now(); eventfdSignal(fd); } }, 1);
    const ready = await waitReady(fd, { timeoutMs: 10000 }).ready;
    clearInterval(iv);
    assert.is(ready, true, 'signalled, not timed out');
    assert.ok(performance.now() >= signalledAt, 'not before the signal');
  } finally { closeFd(fd); }
});

(linux ? test : test.skip)('timeout and cancel resolve false; an fd already readable resolves at once; waits run side by side', async () => {
  const a = eventfdCreate(), b = eventfdCreate(), c = eventfdCreate();
  try {
    assert.is(await waitReady(a, { timeoutMs: 40 }).ready, false);
    const w = waitReady(a);
    setTimeout(() => w.cancel(), 20);
    assert.is(await w.ready, false);
    eventfdSignal(b);
    assert.is(await waitReady(b, { timeoutMs: 2000 }).ready, true);
    // three at once: one signalled, one timing out, one cancelled
    const wa = waitReady(a, { timeoutMs: 30 }), wb = waitReady(b), wc = waitReady(c);
    setTimeout(() => wc.cancel(), 10);
    assert.equal(await Promise.all([wa.ready, wb.ready, wc.ready]), [false, true, false]);
  } finally { closeFd(a); closeFd(b); closeFd(c); }
});

function child(body: string, timeoutMs: number, before = '') {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-waiter-'));
  const file = path.join(dir, 'child.ts');
  writeFileSync(file, `import { writeSync } from 'node:fs';
import { eventfdCreate, eventfdSignal } from ${JSON.stringify(path.join(root, 'src/sys/epoll.ts'))};
import { holdWaiterLoadForTest, waitReady } from ${JSON.stringify(path.join(root, 'src/sys/waiter.ts'))};
${before}
const fd = eventfdCreate();
const t0 = performance.now();
const w = waitReady(fd);
process.on('exit', () => { writeSync(2, 'exit-ms ' + (performance.now() - t0) + '\\n'); });
${body}
`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: timeoutMs });
  rmSync(dir, { recursive: true, force: true });
  const m = /exit-ms ([\d.]+)/.exec(r.stderr ?? '');
  return { ...r, ms: performance.now() - t0, exitMs: m ? Number(m[1]) : NaN };
}

(linux ? test : test.skip)('process.exit() with a wait in flight exits at once (the worker is woken, not joined blocked)', () => {
  const r = child(`setTimeout(() => { console.log('bye'); process.exit(7); }, 50);`, 20000);
  assert.is(r.signal, null, `killed after ${r.ms.toFixed(0)} ms: the exit hung`);
  assert.is(r.status, 7, r.stderr);
  assert.match(r.stdout, /bye/);
});

(linux ? test : test.skip)('process.exit() while the waiter thread is loading koffi waits until it has left the load, then exits with its code', () => {
  // an exit inside koffi's native module load aborted the process (FATAL ERROR napi_throw;
  // 2 in 80 exits 0-60 ms after a first wait, at load 4): here the load is held 400 ms
  const r = child(`setTimeout(() => process.exit(7), 50);`, 20000, 'holdWaiterLoadForTest(400);');
  assert.is(r.signal, null, `killed after ${r.ms.toFixed(0)} ms`);
  assert.is(r.status, 7, r.stderr);
  assert.ok(r.exitMs >= 400, `the exit went on ${r.exitMs.toFixed(0)} ms after the first wait, inside the load`);
});

(linux ? test : test.skip)('a pending wait keeps the process alive; once it ends the process exits by itself', () => {
  // the timer that signals the fd is unref'd: only the wait keeps the process alive until then
  const r = child(`setTimeout(() => eventfdSignal(fd), 300).unref(); w.ready.then((x) => console.log('ended ' + x));`, 20000);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ended true/, JSON.stringify([r.stdout, r.stderr, r.status, r.ms]));
  assert.ok(r.ms >= 300, 'alive until the wait ended');
});

(linux ? test : test.skip)('a first wait cancelled at once: the process still exits by itself, after the waiter thread has booted', () => {
  // the worker stays referenced until it has loaded koffi (an exit inside that load kills
  // the process), and not longer: nothing else keeps this process alive
  const r = child(`w.cancel(); w.ready.then((x) => console.log('ended ' + x));`, 20000);
  assert.is(r.signal, null, `killed after ${r.ms.toFixed(0)} ms: the process did not exit by itself`);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ended false/);
});

test.run();
