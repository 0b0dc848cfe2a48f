/**
 * Auto-attach: the target a program's SEC() name gives, by libbpf's rules
 * (attach_kprobe, attach_uprobe, attach_ksyscall, attach_kprobe_multi, attach_uprobe_multi,
 * attach_tp, attach_raw_tp, attach_trace, attach_lsm, attach_iter in libbpf.c). Pure: it
 * reads the section only.
 *   kprobe/FUNC[+OFF]  kretprobe/FUNC  ksyscall/NAME  kretsyscall/NAME
 *   uprobe/PATH:FUNC[+OFF]  uretprobe/PATH:FUNC  (uprobe.s, uretprobe.s too)
 *   kprobe.multi/GLOB  kretprobe.multi/GLOB  uprobe.multi/PATH:GLOB  uretprobe.multi/PATH:GLOB
 *   tracepoint/CAT/NAME  tp/CAT/NAME  raw_tp/NAME  raw_tracepoint/NAME (.w too)
 *   fentry/ fexit/ fmod_ret/ tp_btf/ lsm/ iter/ freplace/: the target fixed at load
 * A section without a target ('kprobe', 'uprobe', 'xdp', 'tcx/ingress', 'cgroup_skb/egress')
 * gives none: such a program needs an explicit target.
 */
import type { ProgramSpec } from '../spec/types.js';
import { sectionDef } from '../spec/sections.js';

/** What a section says about where its program attaches. */
export type SectionTarget =
  | { kind: 'kprobe'; function: string; offset?: number; retprobe: boolean }
  | { kind: 'ksyscall'; syscall: string; retprobe: boolean }
  | { kind: 'kprobe_multi'; functions: string; retprobe: boolean }
  | { kind: 'uprobe'; binary: string; symbol: string; offset?: number; retprobe: boolean }
  | { kind: 'uprobe_multi'; binary: string; symbols: string; retprobe: boolean }
  | { kind: 'usdt'; binary: string; provider: string; name: string }
  | { kind: 'tracepoint'; tracepoint: string }
  | { kind: 'raw_tracepoint'; tracepoint: string }
  /** fentry / fexit / fmod_ret / tp_btf / lsm / iter / freplace: attach() with no target. */
  | { kind: 'btf' }
  /** No target in the section (or one tsbpf cannot attach by itself): why. */
  | { kind: 'none'; why: string }
  /** A section that names a target in a form libbpf refuses too. */
  | { kind: 'invalid'; why: string };

/** 'func+0x10' -> { name, offset }; undefined when the offset is malformed. */
export function splitOffset(spec: string): { name: string; offset?: number } | undefined {
  const plus = spec.lastIndexOf('+');
  if (plus < 0) return { name: spec };
  const off = spec.slice(plus + 1);
  if (!/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(off)) return undefined;
  const offset = off.startsWith('0x') ? Number.parseInt(off.slice(2), 16) : off.length > 1 && off.startsWith('0') ? Number.parseInt(off, 8) : Number(off);
  return { name: spec.slice(0, plus), offset };
}

/** Whether the section's probe fires on return (kretprobe, uretprobe, kretsyscall, *ret*.multi). */
export function sectionRetprobe(section: string): boolean {
  const p = sectionDef(section)?.pattern ?? '';
  return /^(kretprobe|uretprobe|kretsyscall)/.test(p);
}

/** What `spec`'s section says about its target. */
export function sectionTarget(spec: Pick<ProgramSpec, 'section' | 'type' | 'attachType' | 'attachTo'>): SectionTarget {
  const def = sectionDef(spec.section);
  if (!def) return { kind: 'none', why: `section '${spec.section}' is not one libbpf knows` };
  const base = def.pattern.replace(/\+$/, '');
  const to = spec.attachTo;
  const retprobe = sectionRetprobe(spec.section);
  if (def.attachBtf) return { kind: 'btf' };
  switch (base) {
    case 'kprobe':
    case 'kretprobe': {
      if (!to) return { kind: 'none', why: `SEC("${base}") names no kernel function (use ${base}/FUNC or give { function })` };
      const s = splitOffset(to);
      if (!s || !/^[A-Za-z0-9_.]+$/.test(s.name)) return { kind: 'invalid', why: `kprobe name is invalid: ${to}` };
      if (retprobe && s.offset) return { kind: 'invalid', why: 'kretprobes do not support offset specification' };
      return { kind: 'kprobe', function: s.name, ...(s.offset ? { offset: s.offset } : {}), retprobe };
    }
    case 'ksyscall':
    case 'kretsyscall':
      if (!to) return { kind: 'none', why: `SEC("${base}") names no syscall (use ${base}/NAME or give { syscall })` };
      return { kind: 'ksyscall', syscall: to, retprobe };
    case 'kprobe.multi':
    case 'kretprobe.multi':
      if (!to) return { kind: 'none', why: `SEC("${base}") names no functions (use ${base}/GLOB or give { functions })` };
      if (!/^[A-Za-z0-9_.*?]+$/.test(to)) return { kind: 'invalid', why: `kprobe multi pattern is invalid: ${to}` };
      return { kind: 'kprobe_multi', functions: to, retprobe };
    case 'uprobe':
    case 'uretprobe':
    case 'uprobe.s':
    case 'uretprobe.s': {
      if (!to) return { kind: 'none', why: `SEC("${base}") names no binary and function (use ${base}/PATH:FUNC or give { binary, symbol })` };
      const colon = to.indexOf(':');
      if (colon < 0) return { kind: 'invalid', why: `section '${spec.section}' missing ':function[+offset]' specification` };
      const s = splitOffset(to.slice(colon + 1)) ?? { name: to.slice(colon + 1) };
      if (retprobe && s.offset) return { kind: 'invalid', why: 'uretprobes do not support offset specification' };
      return { kind: 'uprobe', binary: to.slice(0, colon), symbol: s.name, ...(s.offset ? { offset: s.offset } : {}), retprobe };
    }
    case 'uprobe.multi':
    case 'uretprobe.multi':
    case 'uprobe.multi.s':
    case 'uretprobe.multi.s': {
      if (!to) return { kind: 'none', why: `SEC("${base}") names no binary and functions (use ${base}/PATH:GLOB or give { binary, symbols })` };
      const colon = to.indexOf(':');
      if (colon < 0) return { kind: 'invalid', why: `section '${spec.section}': expected ${base}/PATH:GLOB` };
      return { kind: 'uprobe_multi', binary: to.slice(0, colon), symbols: to.slice(colon + 1), retprobe };
    }
    case 'tracepoint':
    case 'tp':
    case 'tracepoint.s':
    case 'tp.s':
      if (!to) return { kind: 'none', why: `SEC("${base}") names no tracepoint (use ${base}/CATEGORY/NAME or give { tracepoint })` };
      if (!to.includes('/')) return { kind: 'invalid', why: `tracepoint '${to}': expected CATEGORY/NAME` };
      return { kind: 'tracepoint', tracepoint: to };
    case 'raw_tracepoint':
    case 'raw_tp':
    case 'raw_tracepoint.w':
    case 'raw_tp.w':
      if (!to) return { kind: 'none', why: `SEC("${base}") names no tracepoint (use ${base}/NAME or give { tracepoint })` };
      return { kind: 'raw_tracepoint', tracepoint: to };
    case 'usdt':
    case 'usdt.s': {
      // libbpf's attach_usdt: "usdt/%m[^:]:%m[^:]:%m[^:]"
      if (!to) return { kind: 'none', why: `SEC("${base}") names no probe (use ${base}/BINARY:PROVIDER:NAME or give { binary, provider, name })` };
      const parts = to.split(':');
      if (parts.length !== 3 || parts.some((p) => p === '')) return { kind: 'invalid', why: `invalid section '${spec.section}': expected ${base}/BINARY:PROVIDER:NAME` };
      return { kind: 'usdt', binary: parts[0]!, provider: parts[1]!, name: parts[2]! };
    }
    case 'kprobe.session':
    case 'uprobe.session':
    case 'uprobe.session.s':
      return { kind: 'none', why: `${base} programs are not attached by tsbpf yet` };
    case 'struct_ops':
    case 'struct_ops.s':
      return { kind: 'none', why: 'struct_ops programs run through their struct_ops map (registered at load, or map.attachStructOps())' };
    default:
      return { kind: 'none', why: `SEC("${spec.section}") names no target: give one (an interface, cgroup, network namespace, map or perf event)` };
  }
}
