/**
 * TC (sched_cls) programs on an interface's ingress or egress: a tcx link (BPF_LINK_CREATE
 * tcx_ingress / tcx_egress, Linux 6.6), or on older kernels a clsact qdisc plus a
 * direct-action cls_bpf filter made over rtnetlink (tc-netlink.ts), as libbpf's bpf_tc_*.
 */
import type { Program } from '../load/program.js';
import { Fd, linkCreateTcx, withNetns } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { tcxSupported } from './features.js';
import { netnsSuffix, openNetns, resolveInterface, type InterfaceTarget } from './iface.js';
import { BpfLink, type Link } from './link.js';
import { attachTcFilter, type TcDirection } from './tc-netlink.js';

export type { TcDirection };

/** `{ ifname | ifindex, direction, netns?, via? }` */
export interface TcTarget extends InterfaceTarget {
  /** Default: the section's (tcx/ingress, tc/egress...). */
  direction?: TcDirection;
  /** 'tcx' (a BPF link) or 'netlink' (clsact + cls_bpf); default tcx where the kernel has it. */
  via?: 'tcx' | 'netlink';
  /** netlink only: the filter's priority (1-65535; default the kernel's choice). */
  priority?: number;
}

/** The direction a program's section names (tcx/ingress, tc/egress), if any. */
export function sectionDirection(prog: Program): TcDirection | undefined {
  const attachType = prog.spec.attachType;
  return attachType === 'tcx_ingress' ? 'ingress' : attachType === 'tcx_egress' ? 'egress' : undefined;
}

/** A sched_cls program on an interface: see TcTarget. */
export function attachTc(prog: Program, t: TcTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const direction = t.direction ?? sectionDirection(prog);
  if (direction !== 'ingress' && direction !== 'egress') {
    throw new AttachError(`tc: say which direction (direction: 'ingress' | 'egress'): section '${prog.spec.section}' names none`, ctx, { reason: 'bad-target', hook: 'tc' });
  }
  if (t.priority !== undefined && (!Number.isInteger(t.priority) || t.priority < 1 || t.priority > 0xffff)) {
    throw new AttachError(`tc priority ${t.priority}: expected 1-65535`, ctx, { reason: 'bad-target', hook: 'tc' });
  }
  let via = t.via;
  if (via === undefined) via = tcxSupported().ok ? 'tcx' : 'netlink';
  else if (via === 'tcx') {
    const f = tcxSupported();
    if (!f.ok) throw new AttachError(`tcx on ${t.ifname ?? t.ifindex}: ${f.why}; attach with via: 'netlink' (clsact + cls_bpf)`, ctx, { reason: 'unsupported', hook: 'tcx', since: '6.6' });
  }
  const ns = t.netns === undefined ? undefined : openNetns(t.netns, ctx, via === 'tcx' ? 'tcx' : 'tc');
  try {
    return withNetns(ns, () => {
      const { ifindex, ifname } = resolveInterface(t, ctx, via === 'tcx' ? 'tcx' : 'tc');
      const where = `${ifname} ${direction}${netnsSuffix(t.netns)}`;
      if (via === 'netlink') return attachTcFilter(prog, { ifindex, direction, priority: t.priority, netns: t.netns, where });
      let raw: number;
      try { raw = linkCreateTcx(prog.fd, ifindex, direction === 'ingress' ? 'tcx_ingress' : 'tcx_egress'); } catch (e) {
        throw kernelRefusal(`tcx on ${where} (BPF_LINK_CREATE)`, e, ctx, 'tcx');
      }
      return new BpfLink(new Fd(raw, `tcx link of ${prog.name}`), { program: prog.name, hook: 'tcx', target: where });
    });
  } finally { ns?.close(); }
}
