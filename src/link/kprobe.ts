/**
 * kprobes and kretprobes on a kernel function (plus an offset): through the kprobe PMU
 * (perf_event_open, config1 = the function's name, config2 = the offset; Linux 4.17) or,
 * without it, a legacy kprobe_events entry in tracefs that is removed again on close (and
 * on a failed attach); then a BPF link or the perf ioctls (perf-event.ts). ksyscall: the
 * syscall's kernel function, with the architecture's prefix when the kernel has syscall
 * wrappers (`__x64_sys_getppid`). kprobe.multi: functions matching a glob in one link
 * (BPF_TRACE_KPROBE_MULTI, Linux 5.18 with CONFIG_FPROBE).
 */
import { readFileSync } from 'node:fs';
import { kallsymsLookup } from '../core/kallsyms.js';
import type { Program } from '../load/program.js';
import { BPF_F_KPROBE_MULTI_RETURN, Fd, linkCreateKprobeMulti, perfEventOpen, SyscallError } from '../sys/index.js';
import { globRegExp } from '../elf/executable.js';
import { AttachError, kernelRefusal } from './errors.js';
import { kprobeMultiSupported, probePmu } from './features.js';
import { BpfLink, type Link } from './link.js';
import { attachLegacyProbe, attachToPerfEvent, type ProbeAttachMode } from './perf-event.js';
import { availableFilterFunctions, hasProbeEvents } from './tracefs.js';

/** `{ function, offset?, retprobe? }` */
export interface KprobeTarget {
  function: string;
  /** Bytes from the function's start (kprobes only). */
  offset?: number;
  retprobe?: boolean;
  attachMode?: ProbeAttachMode;
  /** bpf_get_attach_cookie() in the program (needs a BPF link). */
  cookie?: bigint;
}

/** `{ syscall, retprobe? }`: the kernel function of a syscall ('getppid'). */
export interface KsyscallTarget {
  syscall: string;
  retprobe?: boolean;
  attachMode?: ProbeAttachMode;
}

/** `{ functions, retprobe? }`: kprobe.multi over a glob ('vfs_*') or a list of names. */
export interface KprobeMultiTarget {
  functions: string | readonly string[];
  retprobe?: boolean;
}

/** Why there are no kprobes here, or undefined when there are. */
function noKprobes(): string | undefined {
  const pmu = probePmu('kprobe');
  if (!('why' in pmu)) return undefined;
  let events = false;
  try { events = hasProbeEvents('kprobe'); } catch { /* no tracefs either */ }
  if (events) return undefined;
  return `this kernel has no kprobes: ${pmu.why} and no kprobe_events in tracefs (kernel built without CONFIG_KPROBES / CONFIG_KPROBE_EVENTS)`;
}

const BLACKLIST = '/sys/kernel/debug/kprobes/blacklist';

/**
 * Whether `name` is on the kernel's kprobe blacklist (noinstr and entry code, functions
 * kprobes itself uses): true / false, undefined when debugfs does not show the list.
 */
export function kprobeBlacklisted(name: string): boolean | undefined {
  let text: string;
  try { text = readFileSync(BLACKLIST, 'latin1'); } catch { return undefined; }
  return new RegExp(`\\s${name.replace(/[.]/g, '\\.')}(\\s|$)`, 'm').test(text);
}

/**
 * Whether `name` is a notrace function: tracefs lists the functions ftrace can trace
 * (available_filter_functions) and `name` is not among them (its file is built without
 * the fentry call, e.g. arch/x86/entry/syscall_64.c since Linux 6.15, where x64_sys_call
 * lives). Undefined when tracefs does not show the list.
 */
export function kprobeNotrace(name: string): boolean | undefined {
  let names: string[];
  try { names = availableFilterFunctions(); } catch { return undefined; }
  return !names.includes(name);
}

/**
 * Why the kernel refused a kprobe on a function, as a clear error: not in /proc/kallsyms,
 * on the kprobe blacklist, or a notrace function (trace_kprobe's within_notrace_func():
 * EINVAL, and 'Could not probe notrace function' in the kernel log). Undefined when none
 * explains it.
 */
function missingFunction(name: string, ctx: object, hook: string): AttachError | undefined {
  let listed = true;
  try { listed = kallsymsLookup(name).length > 0; } catch { /* kallsyms unreadable: the kernel's error says more */ }
  if (!listed) return new AttachError(`${hook} ${name}: no kernel function '${name}' (not in /proc/kallsyms)`, ctx, { reason: 'not-found', hook });
  if (kprobeBlacklisted(name)) {
    return new AttachError(`${hook} ${name}: the kernel does not let kprobes probe '${name}' (it is on the kprobe blacklist, ${BLACKLIST}: entry or noinstr code)`, ctx, { reason: 'unsupported', hook, kprobeRefusal: 'blacklist' });
  }
  if (kprobeNotrace(name)) {
    return new AttachError(`${hook} ${name}: the kernel does not let kprobes probe '${name}': it is a notrace function (not in available_filter_functions: built without ftrace's entry call), which kprobe events refuse unless the kernel has CONFIG_KPROBE_EVENTS_ON_NOTRACE (kernel log: 'Could not probe notrace function ${name}')`, ctx, { reason: 'unsupported', hook, kprobeRefusal: 'notrace' });
  }
  return undefined;
}

/** A kprobe or kretprobe: see KprobeTarget. */
export function attachKprobe(prog: Program, t: KprobeTarget): Link {
  const hook = t.retprobe ? 'kretprobe' : 'kprobe';
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (!t.function) throw new AttachError(`${hook} target needs a kernel function`, ctx, { reason: 'bad-target', hook });
  if (t.retprobe && t.offset) throw new AttachError(`kretprobes take no offset ('${t.function}+${t.offset}'): they fire when the function returns`, ctx, { reason: 'bad-target', hook });
  if (t.offset !== undefined && (!Number.isInteger(t.offset) || t.offset < 0)) throw new AttachError(`kprobe offset must be a non-negative integer: ${t.offset}`, ctx, { reason: 'bad-target', hook });
  const where = `${t.function}${t.offset ? `+0x${t.offset.toString(16)}` : ''}`;
  const target = { program: prog.name, hook, target: where } as const;
  const none = noKprobes();
  if (none) throw new AttachError(`${hook} ${where}: ${none}`, ctx, { reason: 'unsupported', hook });
  const pmu = probePmu('kprobe');
  const legacy = t.attachMode === 'legacy' || (t.attachMode === undefined && 'why' in pmu);
  if (!legacy) {
    if ('why' in pmu) throw new AttachError(`${hook} ${where}: attach mode '${t.attachMode}' needs the kprobe PMU: ${pmu.why} (Linux 4.17)`, ctx, { reason: 'unsupported', hook, since: '4.17' });
    let fd: Fd;
    try {
      fd = new Fd(perfEventOpen({
        attr: { type: pmu.type, config: t.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, kprobe_func: Buffer.from(t.function + '\0', 'latin1'), probe_offset: t.offset ?? 0 },
        pid: -1, cpu: 0,
      }), `kprobe ${where}`);
    } catch (e) {
      if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'EINVAL')) throw missingFunction(t.function, ctx, hook) ?? kernelRefusal(`${hook} ${where} (perf_event_open on the kprobe PMU)`, e, ctx, hook);
      throw kernelRefusal(`${hook} ${where} (perf_event_open on the kprobe PMU)`, e, ctx, hook);
    }
    return attachToPerfEvent(prog, fd, target, { mode: t.attachMode, cookie: t.cookie });
  }
  if (!hasProbeEvents('kprobe')) throw new AttachError(`${hook} ${where}: no kprobe_events in tracefs (CONFIG_KPROBE_EVENTS) for attach mode 'legacy'`, ctx, { reason: 'unsupported', hook });
  try {
    return attachLegacyProbe(prog, 'kprobe', { what: t.function, retprobe: !!t.retprobe, where, pid: -1, cpu: 0, cookie: t.cookie }, target);
  } catch (e) {
    throw missingFunction(t.function, ctx, hook) ?? e;
  }
}

/** The syscall prefix of this architecture's syscall wrappers (libbpf's arch_specific_syscall_pfx). */
function syscallPrefix(): string | undefined {
  switch (process.arch) {
    case 'x64': return 'x64';
    case 'arm64': return 'arm64';
    case 'riscv64': return 'riscv';
    case 's390x': return 's390x';
    case 'ppc64': return 'powerpc64';
    default: return undefined;
  }
}

let wrapper: boolean | undefined;

/** The kernel function of a syscall: `__<arch>_sys_<name>` with syscall wrappers (Linux 4.17 on x86), else `__se_sys_<name>`. */
export function syscallFunction(name: string): string {
  const pfx = syscallPrefix();
  if (wrapper === undefined) {
    try { wrapper = pfx !== undefined && kallsymsLookup(`__${pfx}_sys_bpf`).length > 0; } catch { wrapper = false; }
  }
  return wrapper ? `__${pfx}_sys_${name}` : `__se_sys_${name}`;
}

/** ksyscall / kretsyscall: a kprobe on the syscall's kernel function. */
export function attachKsyscall(prog: Program, t: KsyscallTarget): Link {
  return attachKprobe(prog, { function: syscallFunction(t.syscall), retprobe: t.retprobe, attachMode: t.attachMode });
}

/** kprobe.multi / kretprobe.multi: see KprobeMultiTarget. */
export function attachKprobeMulti(prog: Program, t: KprobeMultiTarget): Link {
  const hook = t.retprobe ? 'kretprobe_multi' : 'kprobe_multi';
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const f = kprobeMultiSupported();
  if (!f.ok) throw new AttachError(`${hook} ${String(t.functions)}: ${f.why}`, ctx, { reason: 'unsupported', hook, since: '5.18' });
  let syms: string[];
  if (typeof t.functions === 'string') {
    const re = globRegExp(t.functions);
    syms = [...new Set(availableFilterFunctions().filter((n) => re.test(n)))];
    if (syms.length === 0) throw new AttachError(`${hook}: no kernel function kprobes can hook matches '${t.functions}' (available_filter_functions)`, ctx, { reason: 'not-found', hook });
  } else syms = [...t.functions];
  let raw: number;
  try { raw = linkCreateKprobeMulti(prog.fd, { syms, flags: t.retprobe ? BPF_F_KPROBE_MULTI_RETURN : 0 }); } catch (e) {
    throw kernelRefusal(`${hook} ${String(t.functions)} (${syms.length} functions, BPF_LINK_CREATE)`, e, ctx, hook);
  }
  return new BpfLink(new Fd(raw, `link of ${prog.name}`), { program: prog.name, hook, target: `${String(t.functions)} (${syms.length} functions)` });
}
