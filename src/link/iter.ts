/**
 * BPF iterators (SEC("iter/...")): an iterator link (BPF_LINK_CREATE, BPF_TRACE_ITER),
 * read through a new BPF_ITER_CREATE fd each time.
 */
import { TsbpfError } from '../errors.js';
import { BpfMap } from '../load/map.js';
import type { Program } from '../load/program.js';
import { Fd, linkCreate } from '../sys/index.js';
import { BpfLink, type Link } from './link.js';

/** Iterator targets whose link takes a map (bpf_iter_link_info.map.map_fd). */
const MAP_ITERATORS = new Set(['bpf_map_elem', 'bpf_sk_storage_map', 'sockmap']);

/** An iterator link of `prog`; `map` for a map iterator (`iter/bpf_map_elem`, ...). */
export function attachIter(prog: Program, map?: BpfMap | Fd): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (map && !MAP_ITERATORS.has(prog.spec.attachTo ?? '')) {
    // the union's map_fd sits where task.tid and cgroup.order are: refuse, do not reinterpret
    throw new TsbpfError(`attach({ map }) is for map iterators (${[...MAP_ITERATORS].join(', ')}); '${prog.name}' iterates ${prog.spec.attachTo ?? '?'}`, ctx);
  }
  let raw: number;
  try {
    raw = linkCreate({ fd: prog.fd, attachType: 'trace_iter', ...(map ? { iterMapFd: map instanceof BpfMap ? map.fd : map } : {}) });
  } catch (e) { throw TsbpfError.wrap(e, ctx); }
  return new BpfLink(new Fd(raw, `link of ${prog.name}`), { program: prog.name, hook: 'iter', target: prog.spec.attachTo ?? prog.spec.section });
}
