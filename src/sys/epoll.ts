/**
 * epoll(7) and eventfd(2): the readiness side of the event readers. A reader gathers its
 * fds (perf events, ring buffer maps) in one epoll instance of its own; waiting on it
 * without blocking Node's event loop is sys/waiter.ts's job.
 */
import { writeSync } from 'node:fs';
import { SyscallError } from './error.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLONESHOT = 1 << 30;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

/**
 * struct epoll_event: { u32 events; u64 data; }, packed on x86-64 (12 bytes), naturally
 * aligned elsewhere (16 bytes). Checked against <sys/epoll.h> by test/unit/sys-epoll.test.ts.
 */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_EVENT_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

type CreateFn = (flags: number) => number;
type CtlFn = (ep: number, op: number, fd: number, event: bigint) => number;
type EventfdFn = (init: number, flags: number) => number;

/** epoll_create1(EPOLL_CLOEXEC): a new epoll fd. */
export function epollCreate(): number {
  const fd = libcFunction<CreateFn>('int epoll_create1(int flags)')(EPOLL_CLOEXEC);
  if (fd < 0) throw SyscallError.from('epoll_create1', lastErrno());
  return fd;
}

const ctlEvent = new Uint8Array(16);
const ctlView = new DataView(ctlEvent.buffer);

/** Encodes one struct epoll_event at `off` of `buf`: the events mask and a number as data. */
export function encodeEpollEvent(buf: DataView, off: number, events: number, data: number): void {
  buf.setUint32(off, events >>> 0, true);
  buf.setUint32(off + EPOLL_EVENT_DATA_OFFSET, data >>> 0, true);
  buf.setUint32(off + EPOLL_EVENT_DATA_OFFSET + 4, Math.floor(data / 2 ** 32), true);
}

/** The data (a number below 2^53) of the i-th struct epoll_event in `buf`. */
export function epollEventData(buf: DataView, i: number): number {
  const off = i * EPOLL_EVENT_SIZE + EPOLL_EVENT_DATA_OFFSET;
  return buf.getUint32(off, true) + buf.getUint32(off + 4, true) * 2 ** 32;
}

/**
 * epoll_ctl(ep, op, fd, { events, data }). Returns 0, or the errno name for the errnos
 * `tolerate` lists (ENOENT on a DEL of an fd already gone); throws SyscallError otherwise.
 */
export function epollCtl(ep: number, op: number, fd: number, events = 0, data = 0, tolerate: readonly string[] = []): 0 | string {
  encodeEpollEvent(ctlView, 0, events, data);
  const r = libcFunction<CtlFn>('int epoll_ctl(int epfd, int op, int fd, uint64_t event)')(ep, op, fd, addressOf(ctlEvent));
  if (r < 0) {
    const e = SyscallError.from('epoll_ctl', lastErrno());
    if (tolerate.includes(e.code)) return e.code;
    throw e;
  }
  return 0;
}

/** eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK). */
export function eventfdCreate(): number {
  const fd = libcFunction<EventfdFn>('int eventfd(unsigned int initval, int flags)')(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw SyscallError.from('eventfd', lastErrno());
  return fd;
}

const one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** Adds 1 to an eventfd's counter (makes it readable). */
export function eventfdSignal(fd: number): void {
  writeSync(fd, one);
}
