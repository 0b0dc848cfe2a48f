/**
 * cgroup programs (cgroup_skb, cgroup_sock, cgroup_sock_addr, cgroup_sockopt,
 * cgroup_sysctl, cgroup_device, sock_ops, lsm_cgroup) on a cgroup v2 directory or fd,
 * through a BPF link (BPF_LINK_CREATE with the cgroup fd; Linux 5.7): it runs alongside
 * other programs on the cgroup (as BPF_F_ALLOW_MULTI) and can be updated.
 */
import { closeSync, constants, openSync, statfsSync } from 'node:fs';
import type { AttachTypeName } from '../kernel/enums.js';
import type { Program } from '../load/program.js';
import { Fd, linkCreate, rawFd, type FdLike } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { BpfLink, type Link } from './link.js';

/** statfs f_type of cgroup v2 (<linux/magic.h> CGROUP2_SUPER_MAGIC). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** `{ cgroup, attachType? }` */
export interface CgroupTarget {
  /** A cgroup v2 directory (/sys/fs/cgroup/...) or an open fd on one. */
  cgroup: string | FdLike;
  /** Default: the section's (cgroup_skb/egress -> cgroup_inet_egress...). */
  attachType?: AttachTypeName;
}

/** Program types that attach to cgroups. */
export const CGROUP_PROG_TYPES = new Set(['cgroup_skb', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'cgroup_device', 'sock_ops']);

/** A cgroup program on a cgroup: see CgroupTarget. */
export function attachCgroup(prog: Program, t: CgroupTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const attachType = t.attachType ?? prog.spec.attachType;
  if (!attachType) throw new AttachError(`cgroup: say which attach type (attachType: 'cgroup_inet_ingress', ...): section '${prog.spec.section}' names none`, ctx, { reason: 'bad-target', hook: 'cgroup' });
  const where = typeof t.cgroup === 'string' ? t.cgroup : `fd ${rawFd(t.cgroup)}`;
  let own: number | undefined;
  if (typeof t.cgroup === 'string') {
    try { own = openSync(t.cgroup, constants.O_RDONLY | constants.O_DIRECTORY); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new AttachError(`cgroup ${t.cgroup}: cannot open it (${code ?? (e as Error).message})`, ctx, { reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : code === 'EACCES' ? 'permission' : 'kernel', hook: 'cgroup', cause: e });
    }
    let magic = 0;
    try { magic = Number(statfsSync(t.cgroup).type) >>> 0; } catch { /* the kernel will say */ }
    if (magic !== CGROUP2_SUPER_MAGIC) {
      closeSync(own);
      throw new AttachError(`cgroup ${t.cgroup}: not a cgroup v2 directory (BPF programs attach to cgroup v2 only; find its mount with: grep cgroup2 /proc/mounts)`, ctx, { reason: 'bad-target', hook: 'cgroup' });
    }
  }
  try {
    let raw: number;
    try { raw = linkCreate({ fd: prog.fd, targetFd: own ?? rawFd(t.cgroup as FdLike), attachType }); } catch (e) {
      throw kernelRefusal(`cgroup ${where} (${attachType}, BPF_LINK_CREATE)`, e, ctx, 'cgroup');
    }
    return new BpfLink(new Fd(raw, `cgroup link of ${prog.name}`), { program: prog.name, hook: 'cgroup', target: `${where} ${attachType}` });
  } finally { if (own !== undefined) closeSync(own); }
}
