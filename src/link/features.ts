/**
 * What the running kernel can attach, probed once and cached (as libbpf's kernel_supports
 * and cilium's feature tests): BPF links for perf events, tcx, kprobe_multi and
 * uprobe_multi links, the kprobe / uprobe PMUs. Each probe does what the feature needs with
 * an argument the kernel must refuse, and reads the feature from HOW it refuses.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ProgTypeName, AttachTypeName } from '../kernel/enums.js';
import { EpochCache } from '../load/epoch-cache.js';
import { RETURN_ZERO } from '../load/features.js';
import { Fd, linkCreate, linkCreateKprobeMulti, linkCreateTcx, linkCreateUprobeMulti, progLoad, SyscallError } from '../sys/index.js';

/** A feature: there, or not with the reason (and the errno name of the refusal that says so, where one did). */
export interface Feature { ok: boolean; why?: string; code?: string }

const cache = new EpochCache<string, Feature>(); // started over when a test double answers

function probe(name: string, f: () => Feature): Feature {
  return cache.get(name, f);
}

/** Loads `r0 = 0; exit` of a type and runs `f` with it; a load refusal is the feature missing. */
function withProg(type: ProgTypeName, attach: AttachTypeName | undefined, f: (prog: Fd) => Feature): Feature {
  let prog: Fd;
  try {
    prog = new Fd(progLoad({ type, insns: RETURN_ZERO(), license: 'GPL', ...(attach ? { expectedAttachType: attach } : {}) }), `${type} probe`);
  } catch (e) {
    return { ok: false, why: `a ${type}${attach ? `/${attach}` : ''} program does not load (${e instanceof SyscallError ? e.code : (e as Error).message})` };
  }
  try { return f(prog); } finally { prog.close(); }
}

/** Refused with `expected` (the feature is there) or with something else (it is not). */
function refusedWith(call: () => number, expected: string[], what: string): Feature {
  try {
    new Fd(call(), 'probe link').close();
    return { ok: true };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (expected.includes(e.code)) return { ok: true };
    return { ok: false, why: `${what} (${e.code})`, code: e.code };
  }
}

const BAD_FD = 0x7fffffff;

/** BPF_LINK_CREATE for perf events (Linux 5.15): EBADF for a bad perf fd when the kernel knows it. */
export function perfLinkSupported(): Feature {
  return probe('perf-link', () => withProg('tracepoint', undefined, (p) =>
    refusedWith(() => linkCreate({ fd: p, targetFd: BAD_FD, attachType: 'perf_event' }), ['EBADF'], 'no BPF links for perf events (Linux 5.15)')));
}

/** tcx links (Linux 6.6): ENODEV for a missing interface when the kernel knows them. */
export function tcxSupported(): Feature {
  return probe('tcx', () => withProg('sched_cls', undefined, (p) =>
    refusedWith(() => linkCreateTcx(p, 0x7fffffff, 'tcx_ingress'), ['ENODEV'], 'no tcx links (Linux 6.6)')));
}

/** kprobe_multi links (Linux 5.18, CONFIG_FPROBE): ENOENT for a function that does not exist. */
export function kprobeMultiSupported(): Feature {
  return probe('kprobe-multi', () => withProg('kprobe', 'trace_kprobe_multi', (p) => {
    const r = refusedWith(() => linkCreateKprobeMulti(p, { syms: ['tsbpf_no_such_function_'] }), ['ENOENT', 'ESRCH'], 'no kprobe_multi links (Linux 5.18)');
    if (r.code === 'EOPNOTSUPP' || r.code === 'ENOTSUPP') return { ok: false, why: `no kprobe_multi links: kernel built without CONFIG_FPROBE (${r.code})`, code: r.code };
    return r;
  }));
}

/**
 * uprobe_multi links (Linux 6.6), as libbpf probes them: a uprobe_multi on '/' (not a
 * regular file) is EBADF where the kernel has them; and a pid filter of -1 must be ESRCH,
 * or the kernel filters threads instead of processes (fixed in 6.9 and stable kernels).
 */
export function uprobeMultiSupported(): Feature {
  return probe('uprobe-multi', () => withProg('kprobe', 'trace_uprobe_multi', (p) => {
    const r = refusedWith(() => linkCreateUprobeMulti(p, { path: '/', offsets: [0] }), ['EBADF'], 'no uprobe_multi links (Linux 6.6)');
    if (!r.ok) return r;
    return refusedWith(() => linkCreateUprobeMulti(p, { path: '/', offsets: [0], pid: -1 }), ['ESRCH'], 'uprobe_multi links filter threads, not processes, on this kernel (fixed in Linux 6.9)');
  }));
}

/**
 * /sys/bus/event_source/devices/<pmu>: its type number, the bit of its retprobe flag and,
 * for uprobes, where a semaphore's file offset goes in config (format/ref_ctr_offset,
 * "config:32-63": libbpf's PERF_UPROBE_REF_CTR_OFFSET_SHIFT; absent before Linux 4.20).
 */
export interface ProbePmu { type: number; retprobeBit: number; refCtrShift?: number }

const pmus = new Map<string, ProbePmu | { why: string }>();

/** The kprobe or uprobe PMU (perf_event_open with the PMU's type; Linux 4.17), or why not; read once. */
export function probePmu(kind: 'kprobe' | 'uprobe'): ProbePmu | { why: string } {
  let p = pmus.get(kind);
  if (!p) { p = readPmu(kind); pmus.set(kind, p); }
  return p;
}

/** The first bit of a `config:N[-M]` field in the PMU's format directory, undefined when it has none. */
function formatBit(dir: string, field: string): number | undefined {
  try {
    const m = /^config:(\d+)/.exec(readFileSync(`${dir}/format/${field}`, 'utf8').trim());
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

function readPmu(kind: 'kprobe' | 'uprobe'): ProbePmu | { why: string } {
  const dir = `/sys/bus/event_source/devices/${kind}`;
  if (!existsSync(`${dir}/type`)) return { why: `no ${kind} PMU (${dir})` };
  const type = Number(readFileSync(`${dir}/type`, 'utf8').trim());
  const pmu: ProbePmu = { type, retprobeBit: formatBit(dir, 'retprobe') ?? 0 }; // else the usual bit 0
  const refCtrShift = kind === 'uprobe' ? formatBit(dir, 'ref_ctr_offset') : undefined;
  if (refCtrShift !== undefined) pmu.refCtrShift = refCtrShift;
  return pmu;
}

/** The uprobe PMU's ProbePmu.refCtrShift: undefined when the kernel's uprobes take no semaphore offset. */
export function uprobeRefCtrShift(): number | undefined {
  const pmu = probePmu('uprobe');
  return 'type' in pmu ? pmu.refCtrShift : undefined;
}

/** Forget the cached answers (tests that change what the kernel has). */
export function resetFeatures(): void { cache.clear(); pmus.clear(); }
