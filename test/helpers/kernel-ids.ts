// The kernel objects a piece of a test created, by id, told apart from those other
// processes create at the same time (other suites load the same fixtures): every fd
// BPF_MAP_CREATE / BPF_PROG_LOAD / BPF_BTF_LOAD returns while `fn` runs is asked for its
// id at once (src/sys observeKernel). Ids are then only looked up in the kernel's lists,
// never opened: an open by id takes a user reference, and closing it makes the kernel
// clear a prog array from a work item, which holds the map longer.
import { BPF_BTF_LOAD, BPF_MAP_CREATE, BPF_PROG_LOAD } from '../../src/kernel/enums.js';
import { allIds, btfInfo, mapInfo, observeKernel, progInfo } from '../../src/sys/index.js';

export type KernelObject = `${'prog' | 'map' | 'btf'} ${number}`;

/** Runs `fn`; returns what it returned or threw, and the objects it made. */
export function created<T>(fn: () => T): { result?: T; error?: unknown; objects: KernelObject[] } {
  const objects: KernelObject[] = [];
  const stop = observeKernel((cmd, _attr, fd) => {
    if (fd < 0) return;
    if (cmd === BPF_MAP_CREATE) objects.push(`map ${mapInfo(fd).id}`);
    else if (cmd === BPF_PROG_LOAD) objects.push(`prog ${progInfo(fd).id}`);
    else if (cmd === BPF_BTF_LOAD) objects.push(`btf ${btfInfo(fd).id}`);
  });
  try { return { result: fn(), objects }; } catch (error) { return { error, objects }; } finally { stop(); }
}

/** Those of `objects` the kernel still lists. */
export function alive(objects: KernelObject[]): KernelObject[] {
  const live = { prog: new Set(allIds('prog')), map: new Set(allIds('map')), btf: new Set(allIds('btf')) };
  return objects.filter((o) => { const [kind, id] = o.split(' ') as ['prog' | 'map' | 'btf', string]; return live[kind].has(Number(id)); });
}

/** Polls until none of `objects` is alive (the kernel frees after an RCU grace period or from a work item) or `ms` pass; returns those left. */
export function waitGone(objects: KernelObject[], ms = 10_000): KernelObject[] {
  const deadline = Date.now() + ms;
  let left = alive(objects);
  while (left.length && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    left = alive(left);
  }
  return left;
}
