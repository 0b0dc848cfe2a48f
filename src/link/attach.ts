/**
 * attachProgram: picks the hook from the program's type and section, as libbpf's
 * bpf_program__attach does, and hands it to the file for that hook.
 */
import { TsbpfError } from '../errors.js';
import type { BpfMap } from '../load/map.js';
import type { Program } from '../load/program.js';
import type { Fd } from '../sys/index.js';
import { attachIter } from './iter.js';
import type { Link } from './link.js';
import { attachesByBtf, attachRawTracepoint, attachTracing } from './tracing.js';

/** What `program.attach()` takes. */
export interface AttachOptions {
  /** Map iterators (`iter/bpf_map_elem`, ...): the map to iterate over. */
  map?: BpfMap | Fd;
}

/**
 * Attaches the program where it was loaded to attach, and returns the link (the program
 * stays attached while the link's fd is open or the link is pinned):
 *  - fentry / fexit / fmod_ret / tp_btf / lsm / freplace: see attachTracing;
 *  - raw_tp / raw_tp.w: the tracepoint named in the section (`raw_tp/sys_enter`);
 *  - iter: an iterator link (BPF_LINK_CREATE, BPF_TRACE_ITER); `opts.map` gives the map
 *    of a map iterator (`iter/bpf_map_elem`, ...). Read it with `link.readIter()`.
 */
export function attachProgram(prog: Program, opts: AttachOptions = {}): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const at = prog.spec.attachType;
  const iter = prog.type === 'tracing' && at === 'trace_iter';
  if (opts.map && !iter) {
    throw new TsbpfError(`attach({ map }) is for map iterators; '${prog.name}' is ${prog.type}${at ? `/${at}` : ''}`, ctx);
  }
  if (attachesByBtf(prog)) return attachTracing(prog);
  if (iter) return attachIter(prog, opts.map);
  if (prog.type === 'raw_tracepoint' || prog.type === 'raw_tracepoint_writable') return attachRawTracepoint(prog);
  throw new TsbpfError(`attach() covers BTF-attached programs (fentry, fexit, fmod_ret, tp_btf, lsm, freplace, iter) and raw tracepoints; '${prog.name}' is ${prog.type}${at ? `/${at}` : ''}: attach it through the kernel interface for its hook with program.fd`, ctx);
}
