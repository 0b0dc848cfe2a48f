/**
 * Programs on a network namespace (sk_lookup, flow_dissector) through a BPF link
 * (BPF_LINK_CREATE with the namespace's fd; Linux 5.8 flow_dissector, 5.9 sk_lookup).
 */
import type { Program } from '../load/program.js';
import { Fd, linkCreate, type NetnsRef } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { openNetns } from './iface.js';
import { BpfLink, type Link } from './link.js';

/** `{ netns }`: /run/netns/NAME, a name of `ip netns`, /proc/PID/ns/net or an fd. */
export interface NetnsTarget {
  netns: NetnsRef;
}

/** Program types that attach to a network namespace. */
export const NETNS_PROG_TYPES = new Set(['sk_lookup', 'flow_dissector']);

/** An sk_lookup / flow_dissector program on a network namespace. */
export function attachNetns(prog: Program, t: NetnsTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const attachType = prog.spec.attachType ?? prog.type;
  if (attachType !== 'sk_lookup' && attachType !== 'flow_dissector') {
    throw new AttachError(`netns: '${prog.name}' is ${prog.type}; only sk_lookup and flow_dissector programs attach to a network namespace`, ctx, { reason: 'bad-target', hook: 'netns' });
  }
  const ns = openNetns(t.netns, ctx, 'netns');
  const where = typeof t.netns === 'string' ? t.netns : 'fd';
  try {
    let raw: number;
    try { raw = linkCreate({ fd: prog.fd, targetFd: ns, attachType }); } catch (e) {
      throw kernelRefusal(`${attachType} on network namespace ${where} (BPF_LINK_CREATE)`, e, ctx, 'netns');
    }
    return new BpfLink(new Fd(raw, `netns link of ${prog.name}`), { program: prog.name, hook: 'netns', target: `${where} ${attachType}` });
  } finally { ns.close(); }
}
