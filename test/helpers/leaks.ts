// What an attach test must leave behind: nothing. This process's fds, the links it made
// (by id: other helpers' tests run on the same kernel at the same time), tracefs events.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { closeFd, linkGetFdById, SyscallError } from '../../src/sys/index.js';
import { eventfdCreate, eventfdSignal } from '../../src/sys/epoll.js';
import { waitReady } from '../../src/sys/waiter.js';

export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * This process's fds and what each refers to ('anon_inode:bpf-prog prog_id:42',
 * 'pipe:[123]', ...). All fds of one anonymous-inode kind read back the same link target,
 * so a BPF object's id from /proc/self/fdinfo is added: a BPF fd closed and its number
 * reused by a new program, map, link or BTF is then a new fd, not the old one. (Other
 * anonymous kinds have no id that is not reused: an eventfd's eventfd-id is, for one.)
 */
export type FdSnapshot = Map<string, string>;

/** fdinfo fields that name the BPF object behind an fd (ids the kernel does not hand out again soon). */
const FDINFO_IDS = /^(prog_id|map_id|link_id|btf_id):\s*(\d+)/gm;

function fdIdentity(fd: string): string {
  const target = readlinkSync(`/proc/self/fd/${fd}`);
  if (!target.startsWith('anon_inode:')) return target; // pipes, sockets, files: the target names the inode
  let info = '';
  try { info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'); } catch { /* closed meanwhile */ }
  return [target, ...[...info.matchAll(FDINFO_IDS)].map((m) => `${m[1]}:${m[2]}`)].join(' ');
}

export function fdSnapshot(): FdSnapshot {
  const m: FdSnapshot = new Map();
  for (const fd of readdirSync('/proc/self/fd')) {
    try { m.set(fd, fdIdentity(fd)); } catch { /* the readdir's own fd, gone */ }
  }
  return m;
}

/**
 * The fds open now that were not open (with the same target) in `before`: what a test
 * left behind. Unlike a count, an fd that something else in the process closed meanwhile
 * (a previous suite's child process pipes, closed late) neither hides a leak nor fails.
 */
export function newFds(before: FdSnapshot): string[] {
  const out: string[] = [];
  for (const [fd, target] of fdSnapshot()) if (before.get(fd) !== target) out.push(`${fd} -> ${target}`);
  return out;
}

/** Whether the link with this id is gone (polls: the kernel frees links from a work item). */
export async function linkGone(id: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try { closeFd(linkGetFdById(id)); } catch (e) {
      if (e instanceof SyscallError && e.code === 'ENOENT') return true;
      throw e;
    }
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lines of kprobe_events / uprobe_events this process made (tsbpf_<pid>_...). */
export function ourProbeEvents(tracefs = '/sys/kernel/tracing'): string[] {
  const out: string[] = [];
  for (const f of ['kprobe_events', 'uprobe_events']) {
    let text = '';
    try { text = readFileSync(`${tracefs}/${f}`, 'utf8'); } catch { continue; }
    out.push(...text.split('\n').filter((l) => l.includes(`tsbpf_${process.pid}_`)));
  }
  return out;
}

/** Asserts no link id, no fd and no tracefs event is left from `before`. */
export async function assertClean(before: number | FdSnapshot, linkIds: number[], what: string): Promise<void> {
  for (const id of linkIds) assert.ok(await linkGone(id), `${what}: link ${id} is still there`);
  assert.equal(ourProbeEvents(), [], `${what}: tracefs events left`);
  if (typeof before === 'number') assert.is(fdCount(), before, `${what}: fds left open`);
  else assert.equal(newFds(before), [], `${what}: fds left open`);
}

/**
 * Starts the process-wide epoll worker (src/sys/waiter.ts) so that its fds (an epoll fd,
 * an eventfd, the worker thread's own) are in a test's `before` count: they stay open by
 * design once the first wait ran.
 */
export async function startWaiter(): Promise<void> {
  // a signalled eventfd: the wait ends only when the worker thread is up and answered
  // (a timeout could end it before the thread has opened its own event loop's fds)
  const fd = eventfdCreate();
  try {
    eventfdSignal(fd);
    assert.ok(await waitReady(fd, { timeoutMs: 30_000 }).ready, 'the epoll worker answered within 30 s');
  } finally { closeFd(fd); }
}
