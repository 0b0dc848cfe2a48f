/**
 * Programs whose target is fixed at load: fentry / fexit / fmod_ret / tp_btf / lsm (the
 * kernel function or hook chosen by attach_btf_id), freplace and fentry / fexit on a BPF
 * function (LoadOptions.attachTargets), and raw_tp / raw_tp.w (the tracepoint named in
 * the section).
 */
import { TsbpfError } from '../errors.js';
import type { Program } from '../load/program.js';
import { Fd, linkCreate, progGetFdById, rawTracepointOpen } from '../sys/index.js';
import { BpfLink, type Link } from './link.js';

/** Programs that trace a BPF function attach once (the kernel keeps that target for one attach). */
const attachedOnce = new WeakSet<Program>();

/** True when the program's target was fixed at load (BTF-attached or freplace). */
export function attachesByBtf(prog: Program): boolean {
  const attachType = prog.spec.attachType;
  return prog.type === 'ext' || prog.type === 'lsm' && attachType === 'lsm_mac'
    || prog.type === 'tracing' && (attachType === 'trace_fentry' || attachType === 'trace_fexit' || attachType === 'modify_return' || attachType === 'trace_raw_tp');
}

/**
 * A BTF-attached program to the target chosen at load:
 *  - fentry / fexit / fmod_ret / tp_btf / lsm: BPF_RAW_TRACEPOINT_OPEN without a name;
 *  - freplace: the function of the target program given in LoadOptions.attachTargets
 *    (BPF_LINK_CREATE with target_fd and target_btf_id, so that it can be attached
 *    again after the link is closed: the kernel keeps the load-time target for the
 *    first attach only);
 *  - fentry / fexit on a BPF function: that function (BPF_RAW_TRACEPOINT_OPEN). The
 *    kernel takes a new target only for freplace, so such a program attaches once:
 *    load it again to attach it again.
 */
export function attachTracing(prog: Program): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (prog.target && prog.type !== 'ext' && attachedOnce.has(prog)) {
    throw new TsbpfError(`program '${prog.name}' traces a BPF function and was attached once already: the kernel keeps its target for one attach only (a new target is taken for freplace programs alone); load it again to attach it again`, ctx);
  }
  let raw: number;
  try {
    if (prog.target && prog.type === 'ext') {
      const tgt = new Fd(progGetFdById(prog.target.progId), `target program ${prog.target.progId}`);
      try {
        raw = linkCreate({ fd: prog.fd, targetFd: tgt, attachType: 0, targetBtfId: prog.target.btfId });
      } finally { tgt.close(); }
    } else raw = rawTracepointOpen(prog.fd);
  } catch (e) { throw TsbpfError.wrap(e, ctx); }
  attachedOnce.add(prog);
  return new BpfLink(new Fd(raw, `link of ${prog.name}`), { program: prog.name, hook: 'tracing', target: prog.spec.attachTo ?? prog.spec.section });
}

/** raw_tp / raw_tp.w: the tracepoint `name`, or the one named in the section (`raw_tp/sys_enter`). */
export function attachRawTracepoint(prog: Program, name = prog.spec.attachTo): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (!name) throw new TsbpfError(`program '${prog.name}' (${prog.spec.section}) names no tracepoint: use SEC("raw_tp/<tracepoint>")`, ctx);
  let raw: number;
  try { raw = rawTracepointOpen(prog.fd, name); } catch (e) { throw TsbpfError.wrap(e, ctx); }
  return new BpfLink(new Fd(raw, `link of ${prog.name}`), { program: prog.name, hook: 'raw_tracepoint', target: name });
}
