/**
 * Tracepoints (SEC("tracepoint/<category>/<name>"), SEC("tp/...")): the tracepoint's id
 * from tracefs (mounted when missing), a PERF_TYPE_TRACEPOINT event on it, then a BPF link
 * or the perf ioctls (perf-event.ts).
 */
import type { Program } from '../load/program.js';
import { Fd, perfEventOpen, PERF_TYPE_TRACEPOINT } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import type { Link } from './link.js';
import { attachToPerfEvent } from './perf-event.js';
import { tracefs, tracepointId } from './tracefs.js';

/** `{ tracepoint: 'category/name' }` */
export interface TracepointTarget {
  tracepoint: string;
  /** 'link' (a BPF link, Linux 5.15) or 'perf' (PERF_EVENT_IOC_SET_BPF); default the best there is. */
  attachMode?: 'link' | 'perf';
  cookie?: bigint;
}

/** A tracepoint program on `category/name`. */
export function attachTracepoint(prog: Program, t: TracepointTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const slash = t.tracepoint.indexOf('/');
  if (slash <= 0 || slash === t.tracepoint.length - 1) {
    throw new AttachError(`tracepoint '${t.tracepoint}': expected category/name (e.g. syscalls/sys_enter_openat)`, ctx, { reason: 'bad-target', hook: 'tracepoint' });
  }
  const category = t.tracepoint.slice(0, slash), name = t.tracepoint.slice(slash + 1);
  const id = tracepointId(category, name);
  if (id === undefined) throw new AttachError(`no tracepoint ${t.tracepoint} (no ${tracefs()}/events/${category}/${name}/id)`, ctx, { reason: 'not-found', hook: 'tracepoint' });
  let fd: Fd;
  try { fd = new Fd(perfEventOpen({ attr: { type: PERF_TYPE_TRACEPOINT, config: BigInt(id) }, pid: -1, cpu: 0 }), `tracepoint ${t.tracepoint}`); } catch (e) {
    throw kernelRefusal(`tracepoint ${t.tracepoint} (perf_event_open)`, e, ctx, 'tracepoint');
  }
  return attachToPerfEvent(prog, fd, { program: prog.name, hook: 'tracepoint', target: t.tracepoint }, { mode: t.attachMode, cookie: t.cookie });
}
