/**
 * Network namespaces and interface names: an ifindex, BPF_LINK_CREATE on an interface and
 * rtnetlink sockets all work in the calling thread's network namespace. `withNetns` runs
 * a synchronous function in another one (setns(2) on this thread only, then back).
 */
import { closeSync, openSync } from 'node:fs';
import { TsbpfError } from '../errors.js';
import { cString } from './attr.js';
import { SyscallError } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

/** <sched.h> CLONE_NEWNET: setns(2) nstype of a network namespace. */
export const CLONE_NEWNET = 0x40000000;

/** A network namespace: a path (/run/netns/NAME, /proc/PID/ns/net) or an open fd. */
export type NetnsRef = string | FdLike;

/** The path of a named namespace (`ip netns add NAME`) or the path itself. */
export function netnsPath(ns: string): string {
  return ns.includes('/') ? ns : `/run/netns/${ns}`;
}

function setns(fd: number, what: string): void {
  const f = libcFunction<(fd: number, nstype: number) => number>('int setns(int fd, int nstype)');
  if (f(fd, CLONE_NEWNET) !== 0) throw SyscallError.from(`setns(${what})`, lastErrno());
}

/**
 * Runs `fn` with this thread in the network namespace `ns` and comes back, also when `fn`
 * throws. `fn` must be synchronous (JavaScript runs on this one thread meanwhile). With
 * `ns` undefined it just runs `fn`.
 */
export function withNetns<T>(ns: NetnsRef | undefined, fn: () => T): T {
  if (ns === undefined) return fn();
  let target: number | undefined;
  let ownTarget = false;
  if (typeof ns === 'string') {
    try { target = openSync(netnsPath(ns), 'r'); } catch (e) {
      throw new TsbpfError(`network namespace ${ns}: cannot open ${netnsPath(ns)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    ownTarget = true;
  } else target = rawFd(ns);
  let home: number | undefined;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
    setns(target, typeof ns === 'string' ? ns : `fd ${target}`);
    try { return fn(); } finally { setns(home, 'back to this thread\'s namespace'); }
  } finally {
    if (home !== undefined) closeSync(home);
    if (ownTarget) closeSync(target);
  }
}

/** if_nametoindex(3) in this thread's namespace: 0 when there is no such interface. */
export function ifNameToIndex(name: string): number {
  const f = libcFunction<(name: string) => number>('unsigned int if_nametoindex(const char *name)');
  return f(name) >>> 0;
}

/** if_indextoname(3): undefined when there is no such interface. */
export function ifIndexToName(index: number): string | undefined {
  const buf = Buffer.alloc(16); // IF_NAMESIZE
  const f = libcFunction<(index: number, buf: bigint) => unknown>('void *if_indextoname(unsigned int index, uint64_t buf)');
  const r = f(index, addressOf(buf));
  if (r === null || r === undefined) return undefined;
  return cString(buf);
}
