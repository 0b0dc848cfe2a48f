// A record that arrives after a reader last looked at its rings, but before its wait is
// armed, is handed out at once, not when some later record happens to wake the reader.
//
// Arming the wait adds the reader's epoll fd to the waiter's (EPOLL_CTL_ADD), and the kernel
// polls it then. A perf event's readiness is taken by whoever polls it first (perf_poll
// clears rb->poll): that poll sees the record, puts the reader's epoll fd on the ready list,
// and the waiter thread's own poll of it then finds nothing and reports nothing. The record
// stays in the ring until another one comes (cli-events' bash test waited forever for the
// event of a line typed once: 1 run in 4 of a fresh CLI under load).
//
// The window is made certain here through the kernel seam: a double installed while the
// reader reads passes every libc call on to the real one, and at the EPOLL_CTL_ADD that
// arms the wait (one-shot) takes itself out, fires the record (real BPF_PROG_TEST_RUN) and
// then makes the real epoll_ctl call. A ring buffer's readiness is not taken by a poll
// (it is whether unread bytes are there): the same test passes for it either way.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/index.js';
import { EventReader } from '../../src/events/index.js';
import { EPOLL_CTL_ADD, EPOLL_EVENT_SIZE, EPOLLONESHOT } from '../../src/sys/epoll.js';
import { overrideKernel, userMemory } from '../../src/sys/index.js';
import { koffi, realLibcFunction } from '../../src/sys/syscall.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('events-wakeup');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/events.bpf.o');

/** A promise that resolves `undefined` after `ms`. */
const after = (ms: number) => new Promise<undefined>((res) => { setTimeout(() => res(undefined), ms).unref(); });

for (const [map, prog] of [['perf', 'to_perf'], ['ring', 'to_ringbuf']] as const) {
  test(`${map}: a record that comes while the wait is being armed is read at once`, async () => {
    const c = Collection.loadFile(file);
    try {
      const r = EventReader.open(c.maps.get(map)!);
      try {
        let fired = false;
        const restore = overrideKernel({
          bpf: () => { throw new Error('no bpf(2) call is expected while the reader waits'); },
          close: () => { throw new Error('no close(2) is expected while the reader waits'); },
          // the waiter's own set-up (epoll_create1, eventfd, epoll_ctl of its exit eventfd) when
          // this is the process's first wait goes to the real kernel unchanged
          libc: (name, args, decl) => {
            const real = realLibcFunction<(...a: unknown[]) => unknown>(decl);
            if (name !== 'epoll_ctl') return real(...args);
            const [ep, op, fd, event] = args as [number, number, number, bigint];
            const ev = Uint8Array.from(userMemory(event, EPOLL_EVENT_SIZE)); // the double's address -> real bytes
            if (op === EPOLL_CTL_ADD && (new DataView(ev.buffer).getUint32(0, true) & EPOLLONESHOT) !== 0) {
              restore(); // the real kernel from here on
              const run = c.programs.get(prog)!.testRun({ data: new Uint8Array(64), repeat: 1 });
              assert.is(run.retval, 2, `${prog} returned XDP_PASS`);
              fired = true;
            }
            return real(ep, op, fd, koffi().address(ev));
          },
        });
        let rec;
        try {
          rec = await Promise.race([r.read(), after(10_000)]);
        } finally {
          restore();
        }
        assert.ok(fired, 'the record was fired while the wait was armed');
        assert.ok(rec, 'the record was read without another one to wake the reader');
        assert.is(rec!.map, map);
        assert.is(rec!.data.length, map === 'perf' ? 68 : 64, 'the fixture\'s 64-byte event (a perf sample\'s raw data is padded to 68)');
      } finally {
        r.close();
      }
    } finally {
      c.close();
    }
  });
}

uvuTest.run();
