/**
 * The legacy TC path (kernels before 6.6, or `via: 'netlink'`), as libbpf's bpf_tc_hook_create
 * + bpf_tc_attach and `tc filter add ... bpf da`: a clsact qdisc on the interface (kept if
 * it was there), then a cls_bpf filter in direct-action mode on its ingress or egress hook,
 * its handle and priority read back from the kernel's echo. close() deletes the filter, and
 * the qdisc when this link made it and no filter is left on it.
 */
import type { Program } from '../load/program.js';
import {
  encodeAttr, encodeNlAttrs, Fd, NetlinkSocket, NLM_F, parseNlAttrs, progInfo, readU32, RTM, SyscallError, TC, TCMSG, TCMSG_SIZE,
  withNetns, type NetnsRef,
} from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { openNetns } from './iface.js';
import { Link } from './link.js';

/** The hook of the interface's clsact qdisc a TC program runs on. */
export type TcDirection = 'ingress' | 'egress';

const CLSACT_HANDLE = 0xffff0000; // TC_H_MAKE(TC_H_CLSACT, 0)
const htons = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

function parentOf(direction: TcDirection): number {
  return ((TC.TC_H_CLSACT & 0xffff0000) | (direction === 'ingress' ? TC.TC_H_MIN_INGRESS : TC.TC_H_MIN_EGRESS)) >>> 0;
}

function tcmsg(ifindex: number, parent: number, handle = 0, info = 0): Uint8Array {
  return encodeAttr(TCMSG, { tcm_ifindex: ifindex, tcm_parent: parent, tcm_handle: handle, tcm_info: info }).bytes;
}

function qdiscMsg(ifindex: number): Uint8Array {
  return Buffer.concat([tcmsg(ifindex, TC.TC_H_CLSACT, CLSACT_HANDLE), encodeNlAttrs([{ type: RTM.TCA_KIND, value: 'clsact' }])]);
}

/** Is anything left on the clsact qdisc's ingress or egress hook? */
function filtersLeft(sock: NetlinkSocket, ifindex: number): boolean {
  for (const d of ['ingress', 'egress'] as const) {
    if (sock.request('RTM_GETTFILTER', RTM.RTM_GETTFILTER, NLM_F.DUMP, tcmsg(ifindex, parentOf(d))).length > 0) return true;
  }
  return false;
}

/** A cls_bpf filter made over rtnetlink (no BPF link: not pinnable, no info). */
export class TcFilterLink extends Link {
  readonly ifindex: number;
  readonly direction: TcDirection;
  /** The filter's handle and priority, as the kernel chose them. */
  readonly handle: number;
  readonly priority: number;
  /** Whether this link made the clsact qdisc. */
  readonly createdQdisc: boolean;
  readonly #netns: Fd | undefined;
  #closed = false;

  constructor(o: { program: string; target: string; ifindex: number; direction: TcDirection; handle: number; priority: number; createdQdisc: boolean; netns?: Fd }) {
    super({ program: o.program, hook: 'tc', target: o.target });
    this.ifindex = o.ifindex;
    this.direction = o.direction;
    this.handle = o.handle;
    this.priority = o.priority;
    this.createdQdisc = o.createdQdisc;
    this.#netns = o.netns;
  }

  get closed(): boolean { return this.#closed; }

  override pin(_path: string): void {
    throw this.cannot('pin', 'a cls_bpf filter stays on its interface until it is deleted; only tcx links (Linux 6.6) can be pinned');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      withNetns(this.#netns, () => {
        const sock = NetlinkSocket.open();
        try {
          try {
            sock.request('RTM_DELTFILTER', RTM.RTM_DELTFILTER, NLM_F.ACK, Buffer.concat([
              tcmsg(this.ifindex, parentOf(this.direction), this.handle, ((this.priority << 16) | htons(TC.ETH_P_ALL)) >>> 0),
              encodeNlAttrs([{ type: RTM.TCA_KIND, value: 'bpf' }]),
            ]));
          } catch (e) {
            // the interface (or its namespace) is gone, and the filter with it
            if (!(e instanceof SyscallError && (e.code === 'ENODEV' || e.code === 'ENOENT' || e.code === 'EINVAL'))) throw e;
            return;
          }
          if (this.createdQdisc && !filtersLeft(sock, this.ifindex)) {
            try { sock.request('RTM_DELQDISC', RTM.RTM_DELQDISC, NLM_F.ACK, qdiscMsg(this.ifindex)); } catch (e) {
              if (!(e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'EINVAL' || e.code === 'ENODEV'))) throw e;
            }
          }
        } finally { sock.close(); }
      });
    } finally { this.#netns?.close(); }
  }
}

export interface TcFilterOptions {
  ifindex: number;
  direction: TcDirection;
  priority?: number;
  netns?: NetnsRef;
  /** For descriptions: 'veth0 ingress netns x'. */
  where: string;
}

/** A direct-action cls_bpf filter running `prog` (called inside the interface's namespace). */
export function attachTcFilter(prog: Program, o: TcFilterOptions): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const netns = o.netns === undefined ? undefined : openNetns(o.netns, ctx, 'tc');
  let sock: NetlinkSocket | undefined;
  let createdQdisc = false;
  try {
    sock = NetlinkSocket.open();
    try {
      sock.request('RTM_NEWQDISC', RTM.RTM_NEWQDISC, NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, qdiscMsg(o.ifindex));
      createdQdisc = true;
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === 'EEXIST')) throw kernelRefusal(`tc on ${o.where}: creating the clsact qdisc (RTM_NEWQDISC)`, e, ctx, 'tc');
    }
    const info = progInfo(prog.fd);
    let replies;
    try {
      replies = sock.request('RTM_NEWTFILTER', RTM.RTM_NEWTFILTER, NLM_F.ACK | NLM_F.ECHO | NLM_F.CREATE | NLM_F.EXCL, Buffer.concat([
        tcmsg(o.ifindex, parentOf(o.direction), 0, (((o.priority ?? 0) << 16) | htons(TC.ETH_P_ALL)) >>> 0),
        encodeNlAttrs([
          { type: RTM.TCA_KIND, value: 'bpf' },
          { type: RTM.TCA_OPTIONS, value: [
            { type: TC.TCA_BPF_FD, value: prog.fd.value },
            { type: TC.TCA_BPF_NAME, value: `${info.name}:[${info.id}]` },
            { type: TC.TCA_BPF_FLAGS, value: TC.TCA_BPF_FLAG_ACT_DIRECT },
          ] },
        ]),
      ]));
    } catch (e) { throw kernelRefusal(`tc on ${o.where}: adding the cls_bpf filter (RTM_NEWTFILTER)`, e, ctx, 'tc'); }
    // the echo of the new filter: its handle, priority and program id
    let handle = 0, priority = 0;
    for (const r of replies) {
      if (r.type !== RTM.RTM_NEWTFILTER || r.body.length < TCMSG_SIZE) continue;
      const attrs = parseNlAttrs(r.body, TCMSG_SIZE);
      const opts = attrs.get(RTM.TCA_OPTIONS);
      const id = opts ? parseNlAttrs(opts).get(TC.TCA_BPF_ID) : undefined;
      if (id && new DataView(id.buffer, id.byteOffset, 4).getUint32(0, true) !== info.id) continue;
      handle = readU32(TCMSG, r.body, 'tcm_handle');
      priority = readU32(TCMSG, r.body, 'tcm_info') >>> 16;
    }
    if (handle === 0) throw new AttachError(`tc on ${o.where}: the kernel did not echo the new filter (no RTM_NEWTFILTER with program id ${info.id})`, ctx, { reason: 'kernel', hook: 'tc' });
    return new TcFilterLink({
      program: prog.name, target: `${o.where} (clsact, cls_bpf handle 0x${handle.toString(16)} prio ${priority})`,
      ifindex: o.ifindex, direction: o.direction, handle, priority, createdQdisc, ...(netns ? { netns } : {}),
    });
  } catch (e) {
    if (createdQdisc && sock) {
      try { if (!filtersLeft(sock, o.ifindex)) sock.request('RTM_DELQDISC', RTM.RTM_DELQDISC, NLM_F.ACK, qdiscMsg(o.ifindex)); } catch { /* the attach error says more */ }
    }
    netns?.close();
    throw e;
  } finally { sock?.close(); }
}
