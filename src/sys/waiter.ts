/**
 * Waiting for an fd to become ready without blocking Node's event loop.
 *
 * One worker thread per process (started on the first wait) blocks in epoll_wait(2) on a
 * master epoll instance and posts the tokens of what became ready. A wait adds its fd (a
 * reader's own epoll fd) to the master set, one-shot, under a fresh token; the answer, a
 * timeout or a cancel removes it. Tokens are never reused, so a late answer for a wait that
 * already ended is ignored.
 *
 * Why not koffi's async calls: they run on libuv's thread pool (4 threads shared with fs and
 * dns), a blocked epoll_wait holds one for as long as it waits, and at exit libuv joins its
 * threads: process.exit() with a wait in flight hangs (or aborts in glibc's allocator when
 * the call is woken during teardown). The worker is ours alone; on 'exit' an eventfd in the
 * master set (token 0) wakes it and it returns, so the process exits at once.
 *
 * The worker keeps the process alive only while some wait is pending (like a socket a
 * server listens on), and until it has booted (loaded koffi); otherwise it is unref'd.
 * A process that ends while the worker is inside koffi's native module load dies (FATAL
 * ERROR napi_throw: seen once in 14 CLI runs at load 14, and in 2 of 80 process.exit()
 * calls 0-60 ms after a first wait at load 4): so the exit handler first waits, blocking,
 * until the worker has left that load (a shared flag the worker sets whether the load
 * succeeded or threw), for at most BOOT_WAIT_MS, then wakes it.
 */
import { Worker } from 'node:worker_threads';
import { TsbpfError } from '../errors.js';
import { EPOLLIN, EPOLLONESHOT, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_EVENT_DATA_OFFSET, EPOLL_EVENT_SIZE, epollCreate, epollCtl, eventfdCreate, eventfdSignal } from './epoll.js';
import { closeFd, koffiModulePath } from './syscall.js';
import { errnoNumber } from './error.js';

/** Events one epoll_wait of the worker returns at most. */
const MAX_EVENTS = 64;
/** How long an exit waits at most for the worker to leave koffi's load (it takes ~5-50 ms). */
const BOOT_WAIT_MS = 5000;
const EINTR = errnoNumber('EINTR')!;

// CommonJS run by the worker (eval): epoll_wait in a loop; token 0 (the exit eventfd) ends it.
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData: w } = require('node:worker_threads');
const loaded = new Int32Array(w.loaded);
let k, wait;
try {
  k = require(w.koffi);
  wait = k.load('libc.so.6').func('int epoll_wait(int epfd, uint64_t events, int maxevents, int timeout)');
  if (w.holdMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, w.holdMs); // a slow load, for a test
} finally {
  // out of koffi's load: an exit may go on now (see BOOT_WAIT_MS)
  Atomics.store(loaded, 0, 1);
  Atomics.notify(loaded, 0);
}
const buf = new Uint8Array(w.max * w.size);
const dv = new DataView(buf.buffer);
const addr = k.address(buf);
parentPort.postMessage('booted');
for (;;) {
  const n = wait(w.ep, addr, w.max, -1);
  if (n < 0) {
    const errno = k.errno();
    if (errno === ${EINTR}) continue;
    parentPort.postMessage({ errno });
    break;
  }
  const tokens = [];
  let stop = false;
  for (let i = 0; i < n; i++) {
    const off = i * w.size + w.dataOff;
    const t = dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
    if (t === 0) stop = true; else tokens.push(t);
  }
  if (tokens.length) parentPort.postMessage(tokens);
  if (stop) break;
}
`;

interface Pending {
  fd: number;
  resolve: (ready: boolean) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** A wait in progress: `ready` resolves true when the fd is ready, false on timeout or cancel. */
export interface Wait {
  readonly ready: Promise<boolean>;
  /** Ends the wait now (ready resolves false); the fd leaves the master set before this returns. */
  cancel(): void;
}

class Waiter {
  readonly #ep: number;
  readonly #exitFd: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #dead: Error | undefined;
  /** [0] becomes 1 when the worker has left koffi's load (set by the worker): until then an exit waits, and the worker stays referenced. */
  readonly #loaded = new Int32Array(new SharedArrayBuffer(4));
  readonly #onExit = () => {
    // the main thread may block here: the process is ending and the worker runs on its own
    if (Atomics.load(this.#loaded, 0) === 0) Atomics.wait(this.#loaded, 0, 0, BOOT_WAIT_MS);
    try { eventfdSignal(this.#exitFd); } catch { /* exiting anyway */ }
  };

  constructor() {
    this.#ep = epollCreate();
    try {
      this.#exitFd = eventfdCreate();
      epollCtl(this.#ep, EPOLL_CTL_ADD, this.#exitFd, EPOLLIN, 0);
    } catch (e) { closeFd(this.#ep); throw e; }
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'tsbpf-epoll',
      execArgv: [],
      workerData: { koffi: koffiModulePath(), loaded: this.#loaded.buffer, holdMs: loadHoldMs, ep: this.#ep, max: MAX_EVENTS, size: EPOLL_EVENT_SIZE, dataOff: EPOLL_EVENT_DATA_OFFSET },
    });
    this.#worker.on('message', (m: number[] | { errno: number } | 'booted') => {
      if (Array.isArray(m)) for (const t of m) this.#finish(t, true);
      else if (m === 'booted') {
        if (this.#pending.size === 0) this.#worker.unref();
      } else this.#fail(new TsbpfError(`tsbpf's epoll worker stopped: epoll_wait failed with errno ${m.errno}`));
    });
    this.#worker.on('error', (e) => this.#fail(new TsbpfError(`tsbpf's epoll worker failed: ${e.message}`, {}, { cause: e })));
    this.#worker.on('exit', () => this.#fail(new TsbpfError("tsbpf's epoll worker exited")));
    process.once('exit', this.#onExit);
  }

  get dead(): boolean { return this.#dead !== undefined; }

  wait(fd: number, events: number, timeoutMs?: number): Wait {
    if (this.#dead) throw this.#dead;
    const token = this.#next++;
    let pending!: Pending;
    const ready = new Promise<boolean>((resolve, reject) => { pending = { fd, resolve, reject }; });
    epollCtl(this.#ep, EPOLL_CTL_ADD, fd, events | EPOLLONESHOT, token);
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) pending.timer = setTimeout(() => this.#finish(token, false), Math.max(0, timeoutMs));
    this.#pending.set(token, pending);
    if (this.#pending.size === 1) this.#worker.ref();
    return { ready, cancel: () => this.#finish(token, false) };
  }

  #finish(token: number, ready: boolean): void {
    const p = this.#pending.get(token);
    if (!p) return; // ended already: a late answer
    this.#pending.delete(token);
    if (p.timer) clearTimeout(p.timer);
    epollCtl(this.#ep, EPOLL_CTL_DEL, p.fd, 0, 0, ['ENOENT', 'EBADF']);
    if (this.#pending.size === 0 && Atomics.load(this.#loaded, 0) === 1) this.#worker.unref();
    p.resolve(ready);
  }

  #fail(e: Error): void {
    if (this.#dead) return;
    this.#dead = e;
    process.removeListener('exit', this.#onExit);
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
    if (waiter === this) waiter = undefined;
    // the worker has stopped (or will, on its own error): wake it in case, then free the fds
    try { eventfdSignal(this.#exitFd); } catch { /* gone */ }
    void this.#worker.terminate().finally(() => {
      try { closeFd(this.#exitFd); } catch { /* gone */ }
      try { closeFd(this.#ep); } catch { /* gone */ }
    });
  }
}

let waiter: Waiter | undefined;
let loadHoldMs = 0;

/**
 * For tests: the next waiter thread stays inside its koffi load `ms` longer, so that an exit
 * certainly lands in it (the real load's window is a few ms wide).
 */
export function holdWaiterLoadForTest(ms: number): void { loadHoldMs = ms; }

/**
 * Waits until `fd` is ready for `events` (EPOLLIN by default), for at most `timeoutMs`
 * (none: until ready or cancelled), without blocking the event loop. The fd must stay
 * open until the wait has ended (cancel() ends it synchronously).
 */
export function waitReady(fd: number, opts: { events?: number; timeoutMs?: number } = {}): Wait {
  waiter ??= new Waiter();
  return waiter.wait(fd, opts.events ?? EPOLLIN, opts.timeoutMs);
}
