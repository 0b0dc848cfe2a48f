/**
 * struct_ops maps from SEC(".struct_ops.link"): registered through a BPF link
 * (BPF_LINK_CREATE, attach type struct_ops, on the map fd).
 */
import { TsbpfError } from '../errors.js';
import type { BpfMap } from '../load/map.js';
import { Fd, linkCreate } from '../sys/index.js';
import { BpfLink, type Link } from './link.js';

/**
 * Registers a `.struct_ops.link` map (BPF_F_LINK) through a BPF link: e.g. the TCP
 * congestion control becomes available. It stays registered while the link is open or
 * pinned; closing the link unregisters it. A plain `.struct_ops` map needs no link: the
 * load registered it.
 */
export function attachStructOps(map: BpfMap): Link {
  const ctx = { section: map.spec.section, symbol: map.name };
  if (map.type !== 'struct_ops' || !map.structOps) throw new TsbpfError(`map '${map.name}' is a ${map.type} map, not a loaded struct_ops map`, ctx);
  if (!map.structOps.link) throw new TsbpfError(`struct_ops map '${map.name}' (${map.spec.section}) was registered by the load; only SEC(".struct_ops.link") maps are registered through a link`, ctx);
  let raw: number;
  try { raw = linkCreate({ fd: map.fd, attachType: 'struct_ops' }); } catch (e) { throw TsbpfError.wrap(e, ctx); }
  return new BpfLink(new Fd(raw, `struct_ops link of ${map.name}`), { program: map.name, hook: 'struct_ops', target: map.structOps.typeName });
}
