/**
 * Network interfaces as attach targets (XDP, TC): by name or index, in this process's
 * network namespace or in another one (`netns`: /run/netns/NAME, a NAME of `ip netns`, or
 * an fd), entered for the attach only (see sys/netns.ts).
 */
import { openSync } from 'node:fs';
import type { ErrorContext } from '../errors.js';
import { Fd, ifIndexToName, ifNameToIndex, netnsPath, type NetnsRef } from '../sys/index.js';
import { AttachError } from './errors.js';

/** `{ ifname | ifindex, netns? }` */
export interface InterfaceTarget {
  ifname?: string;
  ifindex?: number;
  /** The network namespace the interface lives in (default: this process's). */
  netns?: NetnsRef;
}

/** The interface's index and name, in the current network namespace of this thread. */
export function resolveInterface(t: InterfaceTarget, ctx: ErrorContext, hook: string): { ifindex: number; ifname: string } {
  const inNs = t.netns === undefined ? '' : ` in network namespace ${typeof t.netns === 'string' ? t.netns : 'fd'}`;
  if (t.ifname !== undefined) {
    const ifindex = ifNameToIndex(t.ifname);
    if (ifindex === 0) throw new AttachError(`${hook}: no network interface '${t.ifname}'${inNs}`, ctx, { reason: 'not-found', hook });
    if (t.ifindex !== undefined && t.ifindex !== ifindex) throw new AttachError(`${hook}: interface '${t.ifname}' has index ${ifindex}, not ${t.ifindex}`, ctx, { reason: 'bad-target', hook });
    return { ifindex, ifname: t.ifname };
  }
  if (t.ifindex === undefined) throw new AttachError(`${hook} target needs an interface: { ifname } or { ifindex }`, ctx, { reason: 'bad-target', hook });
  const ifname = ifIndexToName(t.ifindex);
  if (ifname === undefined) throw new AttachError(`${hook}: no network interface with index ${t.ifindex}${inNs}`, ctx, { reason: 'not-found', hook });
  return { ifindex: t.ifindex, ifname };
}

/** An fd on the namespace (kept by links that must enter it again to detach). */
export function openNetns(ns: NetnsRef, ctx: ErrorContext, hook: string): Fd {
  if (typeof ns !== 'string') return new Fd(openSync(`/proc/self/fd/${typeof ns === 'number' ? ns : ns.value}`, 'r'), 'netns');
  try { return new Fd(openSync(netnsPath(ns), 'r'), `netns ${ns}`); } catch (e) {
    throw new AttachError(`${hook}: cannot open network namespace ${netnsPath(ns)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, ctx, { reason: 'not-found', hook, cause: e });
  }
}

/** ' in netns NAME' for descriptions. */
export function netnsSuffix(ns: NetnsRef | undefined): string {
  return ns === undefined ? '' : typeof ns === 'string' ? ` netns ${ns}` : ' netns fd';
}
