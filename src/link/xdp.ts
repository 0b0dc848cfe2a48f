/**
 * XDP on a network interface through a BPF link (BPF_LINK_CREATE, attach type xdp; Linux
 * 5.9): in the driver ('drv'), generic ('skb') or offloaded ('hw') mode, or the best the
 * driver has. The link can be updated to another XDP program without a gap.
 */
import type { Program } from '../load/program.js';
import { Fd, linkCreate, withNetns, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_SKB_MODE } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { netnsSuffix, openNetns, resolveInterface, type InterfaceTarget } from './iface.js';
import { BpfLink, type Link } from './link.js';

export type XdpMode = 'skb' | 'drv' | 'hw';

/** `{ ifname | ifindex, mode?, netns? }` */
export interface XdpTarget extends InterfaceTarget {
  /** Default: the driver's mode when it has one, else generic (the kernel picks). */
  mode?: XdpMode;
}

const MODE_FLAGS: Record<XdpMode, number> = { skb: XDP_FLAGS_SKB_MODE, drv: XDP_FLAGS_DRV_MODE, hw: XDP_FLAGS_HW_MODE };

/** An XDP program on an interface: see XdpTarget. */
export function attachXdp(prog: Program, t: XdpTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (t.mode !== undefined && !(t.mode in MODE_FLAGS)) throw new AttachError(`xdp mode '${String(t.mode)}': expected skb, drv or hw`, ctx, { reason: 'bad-target', hook: 'xdp' });
  const ns = t.netns === undefined ? undefined : openNetns(t.netns, ctx, 'xdp');
  try {
    return withNetns(ns, () => {
      const { ifindex, ifname } = resolveInterface(t, ctx, 'xdp');
      const where = `${ifname} (ifindex ${ifindex}${t.mode ? `, ${t.mode} mode` : ''})${netnsSuffix(t.netns)}`;
      let raw: number;
      try { raw = linkCreate({ fd: prog.fd, targetFd: ifindex, attachType: 'xdp', flags: t.mode ? MODE_FLAGS[t.mode] : 0 }); } catch (e) {
        const r = kernelRefusal(`xdp on ${where} (BPF_LINK_CREATE)`, e, ctx, 'xdp');
        if (r instanceof AttachError && r.reason === 'kernel' && (r.cause as { code?: string })?.code === 'EINVAL' && t.mode === 'hw') {
          throw new AttachError(`${r.detail} (offloaded XDP needs a NIC that offloads BPF and a program loaded for it)`, ctx, { reason: 'unsupported', hook: 'xdp', cause: r.cause });
        }
        throw r;
      }
      return new BpfLink(new Fd(raw, `xdp link of ${prog.name}`), { program: prog.name, hook: 'xdp', target: where });
    });
  } finally { ns?.close(); }
}
