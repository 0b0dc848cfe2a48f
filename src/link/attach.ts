/**
 * attachProgram: picks the hook from the program's type and section, as libbpf's
 * bpf_program__attach does, takes the target from the section (auto.ts) or from the
 * caller, and hands it to the file for that hook.
 */
import { readFileSync } from 'node:fs';
import type { BpfMap } from '../load/map.js';
import type { Program } from '../load/program.js';
import type { Fd } from '../sys/index.js';
import { sectionTarget, sectionRetprobe, type SectionTarget } from './auto.js';
import { attachCgroup, CGROUP_PROG_TYPES, type CgroupTarget } from './cgroup.js';
import { AttachError } from './errors.js';
import { attachIter } from './iter.js';
import { attachKprobe, attachKprobeMulti, attachKsyscall, type KprobeMultiTarget, type KprobeTarget, type KsyscallTarget } from './kprobe.js';
import type { Link } from './link.js';
import { attachNetns, NETNS_PROG_TYPES, type NetnsTarget } from './netns.js';
import { attachPerfEventProgram, onlineCpus, type PerfEventTarget } from './perf-event.js';
import { attachSockmap, type SockmapTarget } from './sockmap.js';
import { attachTc, type TcTarget } from './tc.js';
import { attachTracepoint, type TracepointTarget } from './tracepoint.js';
import { attachesByBtf, attachRawTracepoint, attachTracing } from './tracing.js';
import { attachUprobe, attachUprobeMulti, type UprobeMultiTarget, type UprobeTarget } from './uprobe.js';
import { attachUsdt, type UsdtTarget } from './usdt.js';
import { attachXdp, type XdpTarget } from './xdp.js';

/** Map iterators (`iter/bpf_map_elem`, ...): the map to iterate over. */
export interface IterTarget { map: BpfMap | Fd }

/**
 * Where to attach, one shape per hook (the program's type decides which applies):
 *  - kprobe / kretprobe: `{ function, offset?, retprobe? }`; ksyscall: `{ syscall }`;
 *    kprobe.multi: `{ functions: 'glob' | [...] }`
 *  - uprobe / uretprobe: `{ binary, symbol | offset, pid?, retprobe? }`;
 *    uprobe.multi: `{ binary, symbols: 'glob' | [...] }`; usdt: `{ binary, provider, name,
 *    pid?, usdtCookie? }` (the object's usdt.bpf.h maps: collection.attach() adds them)
 *  - tracepoint: `{ tracepoint: 'category/name' }`; raw_tp: `{ tracepoint: 'name' }`
 *  - perf_event: `{ cpu?, type?, config?, frequency | period, pid? }`
 *  - xdp: `{ ifname | ifindex, mode?, netns? }`; tc: `{ ifname | ifindex, direction?, netns?, via? }`
 *  - cgroup programs: `{ cgroup, attachType? }`; sk_lookup / flow_dissector: `{ netns }`
 *  - sk_msg / sk_skb: `{ map }` (a sockmap or sockhash); map iterators: `{ map }`
 * Every probe target also takes `retprobe` and `attachMode` ('link' | 'perf' | 'legacy').
 */
export type AttachPoint =
  | KprobeTarget | KsyscallTarget | KprobeMultiTarget | UprobeTarget | UprobeMultiTarget | UsdtTarget
  | TracepointTarget | PerfEventTarget | XdpTarget | TcTarget | CgroupTarget | NetnsTarget
  | SockmapTarget | IterTarget;

/** Kept for existing callers: attach({ map }) of map iterators. */
export type AttachOptions = AttachPoint;

type AnyTarget = Partial<Record<string, unknown>>;

function has(t: AnyTarget, ...keys: string[]): boolean {
  return keys.some((k) => t[k] !== undefined);
}

function notFor(prog: Program, t: AnyTarget, expected: string): AttachError {
  const keys = Object.keys(t).filter((k) => t[k] !== undefined);
  const attachType = prog.spec.attachType;
  return new AttachError(`attach({ ${keys.join(', ')} }) does not fit '${prog.name}' (${prog.type}${attachType ? `/${attachType}` : ''}, section ${prog.spec.section}): it takes ${expected}`, { section: prog.spec.section, symbol: prog.name }, { reason: 'bad-target' });
}

/** The explicit target a section gives, or an error saying why there is none. */
function fromSection(prog: Program, s: SectionTarget): AnyTarget {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  switch (s.kind) {
    case 'none': throw new AttachError(`'${prog.name}' cannot be attached without a target: ${s.why}`, ctx, { reason: 'no-target' });
    case 'invalid': throw new AttachError(`'${prog.name}': ${s.why}`, ctx, { reason: 'bad-target' });
    case 'btf': return {};
    case 'kprobe': return { function: s.function, offset: s.offset, retprobe: s.retprobe };
    case 'ksyscall': return { syscall: s.syscall, retprobe: s.retprobe };
    case 'kprobe_multi': return { functions: s.functions, retprobe: s.retprobe };
    case 'uprobe': return { binary: s.binary, symbol: s.symbol, offset: s.offset, retprobe: s.retprobe };
    case 'uprobe_multi': return { binary: s.binary, symbols: s.symbols, retprobe: s.retprobe };
    case 'usdt': return { binary: s.binary, provider: s.provider, name: s.name };
    case 'tracepoint':
    case 'raw_tracepoint': return { tracepoint: s.tracepoint };
  }
}

let cpus: number[] | undefined;

/**
 * Attaches the program and returns the link. With no target, the section's (libbpf's
 * auto-attach: `kprobe/do_unlinkat`, `uretprobe//bin/bash:readline`, `tp/syscalls/...`);
 * programs whose target was fixed at load (fentry, fexit, fmod_ret, tp_btf, lsm, iter,
 * freplace) take none. See AttachPoint for the explicit targets.
 */
export function attachProgram(prog: Program, target?: AttachPoint): Link {
  try { return attachTo(prog, target); } catch (e) {
    if (e instanceof AttachError) e.program ??= prog.name;
    throw e;
  }
}

function attachTo(prog: Program, target?: AttachPoint): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const attachType = prog.spec.attachType;
  const t: AnyTarget = target ? { ...target } as AnyTarget : fromSection(prog, sectionTarget(prog.spec));
  const type = prog.type;

  if (type === 'tracing' && attachType === 'trace_iter') {
    if (Object.keys(t).some((k) => k !== 'map' && t[k] !== undefined)) throw notFor(prog, t, 'nothing, or { map } for a map iterator');
    return attachIter(prog, t.map as BpfMap | Fd | undefined);
  }
  if (t.map !== undefined && type !== 'sk_msg' && type !== 'sk_skb') {
    throw new AttachError(`attach({ map }) is for map iterators and sk_msg / sk_skb programs; '${prog.name}' is ${type}${attachType ? `/${attachType}` : ''}`, ctx, { reason: 'bad-target' });
  }
  if (attachesByBtf(prog) || (type === 'lsm' && attachType !== 'lsm_cgroup')) {
    if (Object.values(t).some((v) => v !== undefined)) throw notFor(prog, t, 'no target: it was chosen at load (section name, or LoadOptions.attachTargets for freplace)');
    return attachTracing(prog);
  }
  switch (type) {
    case 'raw_tracepoint':
    case 'raw_tracepoint_writable':
      if (has(t, 'function', 'binary', 'ifname', 'ifindex', 'cgroup')) throw notFor(prog, t, '{ tracepoint: NAME }');
      return attachRawTracepoint(prog, (t.tracepoint as string | undefined) ?? prog.spec.attachTo);
    case 'tracepoint':
      if (!has(t, 'tracepoint') || has(t, 'function', 'binary')) throw notFor(prog, t, "{ tracepoint: 'category/name' }");
      return attachTracepoint(prog, t as unknown as TracepointTarget);
    case 'kprobe': {
      const retprobe = (t.retprobe as boolean | undefined) ?? sectionRetprobe(prog.spec.section);
      if (attachType === 'trace_kprobe_multi') {
        if (!has(t, 'functions')) throw notFor(prog, t, "{ functions: 'glob' | [names] } (kprobe.multi)");
        return attachKprobeMulti(prog, { ...(t as unknown as KprobeMultiTarget), retprobe });
      }
      if (attachType === 'trace_uprobe_multi') {
        if (!has(t, 'binary') || !has(t, 'symbols')) throw notFor(prog, t, "{ binary, symbols: 'glob' | [names] } (uprobe.multi)");
        return attachUprobeMulti(prog, { ...(t as unknown as UprobeMultiTarget), retprobe });
      }
      if (attachType) throw notFor(prog, t, `nothing tsbpf attaches yet (${attachType})`);
      if (has(t, 'provider', 'name')) {
        if (!has(t, 'binary') || !has(t, 'provider') || !has(t, 'name') || has(t, 'symbol', 'offset', 'retprobe')) throw notFor(prog, t, '{ binary, provider, name, pid?, usdtCookie? } (usdt)');
        return attachUsdt(prog, t as unknown as UsdtTarget);
      }
      if (has(t, 'binary')) return attachUprobe(prog, { ...(t as unknown as UprobeTarget), retprobe });
      if (has(t, 'syscall')) return attachKsyscall(prog, { ...(t as unknown as KsyscallTarget), retprobe });
      if (has(t, 'function')) return attachKprobe(prog, { ...(t as unknown as KprobeTarget), retprobe });
      throw notFor(prog, t, '{ function } (kprobe), { syscall } (ksyscall) or { binary, symbol | offset } (uprobe)');
    }
    case 'perf_event':
      if (has(t, 'function', 'binary', 'tracepoint', 'ifname')) throw notFor(prog, t, '{ cpu?, type?, config?, frequency | period, pid? }');
      cpus ??= onlineCpus(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
      return attachPerfEventProgram(prog, t as PerfEventTarget, cpus);
    case 'xdp':
      if (attachType === 'xdp_devmap' || attachType === 'xdp_cpumap') throw notFor(prog, t, `nothing: ${attachType} programs run from a ${attachType === 'xdp_devmap' ? 'devmap' : 'cpumap'} entry (put the program fd in the map value)`);
      if (!has(t, 'ifname', 'ifindex') || has(t, 'direction', 'cgroup')) throw notFor(prog, t, '{ ifname | ifindex, mode?, netns? }');
      return attachXdp(prog, t as XdpTarget);
    case 'sched_cls':
      if (!has(t, 'ifname', 'ifindex') || has(t, 'mode', 'cgroup')) throw notFor(prog, t, "{ ifname | ifindex, direction?: 'ingress' | 'egress', netns?, via? }");
      return attachTc(prog, t as TcTarget);
    case 'sk_lookup':
    case 'flow_dissector':
      if (!has(t, 'netns') || has(t, 'ifname', 'ifindex')) throw notFor(prog, t, '{ netns }');
      return attachNetns(prog, t as unknown as NetnsTarget);
    case 'sk_msg':
    case 'sk_skb':
      if (!has(t, 'map')) throw notFor(prog, t, '{ map } (a sockmap or sockhash)');
      return attachSockmap(prog, t as unknown as SockmapTarget);
    case 'struct_ops':
      throw new AttachError(`'${prog.name}' is a struct_ops program: it runs through its struct_ops map (registered at load, or map.attachStructOps() for .struct_ops.link maps)`, ctx, { reason: 'bad-target', hook: 'struct_ops' });
    default:
      if (CGROUP_PROG_TYPES.has(type) || (type === 'lsm' && attachType === 'lsm_cgroup')) {
        if (!has(t, 'cgroup')) throw notFor(prog, t, '{ cgroup, attachType? }');
        return attachCgroup(prog, t as unknown as CgroupTarget);
      }
      if (NETNS_PROG_TYPES.has(type)) return attachNetns(prog, t as unknown as NetnsTarget);
      throw new AttachError(`tsbpf does not attach ${type} programs ('${prog.name}'): attach it through the kernel interface for its hook with program.fd`, ctx, { reason: 'unsupported' });
  }
}
