/**
 * features(): every probe at once, with the Linux release that brings each feature, as
 * `bpftool feature probe` shows it. Probing every helper in every program type loads a
 * few thousand tiny programs: it is done only when asked, once per process.
 */
import os from 'node:os';
import { HELPER_NAMES } from '../asm/index.js';
import {
  ATTACH_TYPES, LINK_TYPES, MAP_TYPES, PROG_TYPES, type AttachTypeName, type LinkTypeName, type MapTypeName, type ProgTypeName,
} from '../kernel/enums.js';
import {
  ATTACH_TYPE_SINCE, BTF_FEATURE_SINCE, ISA_SINCE, KERNEL_FEATURE_SINCE, LINK_TYPE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, releaseHas,
} from '../kernel/since.js';
import { TsbpfError } from '../errors.js';
import { BTF_FEATURES, hasBtfFeature, hasProgramFeature, PROGRAM_FEATURES, type BtfFeature, type ProgramFeature } from './features.js';
import { hasBpfCapability, hasMemcgAccounting } from './memlock.js';
import { hasAttachType, hasIsaFeature, hasLinkType, hasMapType, hasProgType, helperNameOf, helperSupport, kernelEnum, type IsaFeature } from './probes.js';

/** One feature: whether this kernel has it (undefined: cannot tell), and since when Linux has it. */
export interface FeatureState {
  available: boolean | undefined;
  since?: string;
}

/** Helpers of one program type. */
export interface HelperRow {
  /** Helpers programs of this type may call (names). */
  available: string[];
  /**
   * 'probed' (each helper loaded in a program of the type), 'kernel-enum' (tracing, ext,
   * lsm, struct_ops: cannot be loaded without a target, so `available` lists the helpers
   * the kernel has at all, per its BTF), 'no-type' (the program type is missing).
   */
  source: 'probed' | 'kernel-enum' | 'no-type';
}

export interface FeatureTable {
  /** uname -r */
  kernel: string;
  /** BPF memory charged to the memory cgroup instead of RLIMIT_MEMLOCK (Linux 5.11+). */
  memcgAccounting: FeatureState;
  programTypes: Record<string, FeatureState>;
  mapTypes: Record<string, FeatureState>;
  /** By program type. */
  helpers: Record<string, HelperRow>;
  /** Instruction-set extensions (jmp32, atomics, isa_v4). */
  instructions: Record<IsaFeature, FeatureState>;
  /** BTF kinds and BTF features (features.ts). */
  btf: Record<BtfFeature, FeatureState>;
  /** Link types the kernel knows (its BTF's enum bpf_link_type). */
  linkTypes: Record<string, FeatureState>;
  /** Attach types the kernel knows (its BTF's enum bpf_attach_type). */
  attachTypes: Record<string, FeatureState>;
  /** BPF_PROG_LOAD features tsbpf adapts to (features.ts). */
  program: Record<ProgramFeature, boolean>;
}

let cached: FeatureTable | undefined;

/** Helper ids to probe: those tsbpf knows by name, and any higher ones the kernel's BTF lists. */
function helperIds(): number[] {
  const known = kernelEnum('bpf_func_id');
  const max = Math.max(HELPER_NAMES.length - 1, ...(known ? [...known] : []));
  return Array.from({ length: max }, (_, i) => i + 1);
}

/**
 * The full probe table (probed once per process, then cached). Needs the privileges that
 * loading needs (root or CAP_BPF): without them every probe would say no, so a TsbpfError
 * says so instead.
 */
export function features(): FeatureTable {
  if (cached) return cached;
  if (!hasBpfCapability()) throw new TsbpfError('feature probes load programs and create maps: run as root or with CAP_BPF (and CAP_PERFMON, CAP_NET_ADMIN)');
  const progTypes = Object.keys(PROG_TYPES).filter((t) => t !== 'unspec') as Array<Exclude<ProgTypeName, 'unspec'>>;
  const programTypes: Record<string, FeatureState> = {};
  for (const t of progTypes) programTypes[t] = { available: hasProgType(t), since: PROG_TYPE_SINCE[t] };
  const mapTypes: Record<string, FeatureState> = {};
  for (const t of Object.keys(MAP_TYPES).filter((x) => x !== 'unspec') as Array<Exclude<MapTypeName, 'unspec'>>) mapTypes[t] = { available: hasMapType(t), since: MAP_TYPE_SINCE[t] };
  const ids = helperIds();
  const enumIds = kernelEnum('bpf_func_id');
  const helpers: Record<string, HelperRow> = {};
  for (const t of progTypes) {
    if (!programTypes[t]!.available) { helpers[t] = { available: [], source: 'no-type' }; continue; }
    const row: HelperRow = { available: [], source: 'probed' };
    for (const id of ids) {
      // a helper the kernel's BTF does not list is missing for every type: no load needed
      if (enumIds && !enumIds.has(id)) continue;
      const s = helperSupport(t, id);
      if (s === 'unknown') row.source = 'kernel-enum';
      if (s === 'yes' || s === 'unknown') row.available.push(helperNameOf(id));
    }
    helpers[t] = row;
  }
  const instructions = Object.fromEntries((Object.keys(ISA_SINCE) as IsaFeature[]).map((f) => [f, { available: hasIsaFeature(f), since: ISA_SINCE[f] }])) as Record<IsaFeature, FeatureState>;
  const btf = Object.fromEntries(BTF_FEATURES.map((f) => [f, { available: hasBtfFeature(f), since: BTF_FEATURE_SINCE[f] }])) as Record<BtfFeature, FeatureState>;
  const linkTypes: Record<string, FeatureState> = {};
  for (const t of Object.keys(LINK_TYPES).filter((x) => x !== 'unspec') as Array<Exclude<LinkTypeName, 'unspec'>>) linkTypes[t] = { available: hasLinkType(t), since: LINK_TYPE_SINCE[t] };
  const attachTypes: Record<string, FeatureState> = {};
  for (const t of Object.keys(ATTACH_TYPES) as AttachTypeName[]) attachTypes[t] = { available: hasAttachType(t), since: ATTACH_TYPE_SINCE[t] };
  const program = Object.fromEntries(PROGRAM_FEATURES.map((f) => [f, hasProgramFeature(f)])) as Record<ProgramFeature, boolean>;
  cached = {
    kernel: os.release(),
    memcgAccounting: { available: hasMemcgAccounting(), since: KERNEL_FEATURE_SINCE.memcgAccounting },
    programTypes, mapTypes, helpers, instructions, btf, linkTypes, attachTypes, program,
  };
  return cached;
}

const since = (s?: string) => (s ? ` (Linux ${s}+)` : '');

/** "is available (Linux 5.17+)", "is NOT available (Linux 5.17+)", or, on a kernel that new, why not. */
function state(s: FeatureState, kernel: string, word = 'available'): string {
  if (s.available === undefined) return `is unknown (no kernel BTF to ask)${since(s.since)}`;
  if (s.available) return `is ${word}${since(s.since)}`;
  if (s.since && releaseHas(kernel, s.since)) return `is NOT ${word} (Linux ${s.since}+: built without it, or refused here)`;
  return `is NOT ${word}${since(s.since)}`;
}

/** The table as text, in the shape of `bpftool feature probe kernel`. */
export function formatFeatures(t: FeatureTable): string {
  const out: string[] = [`Kernel ${t.kernel}`, '', 'Scanning system configuration...'];
  out.push(t.memcgAccounting.available
    ? `BPF memory is charged to the memory cgroup${since(t.memcgAccounting.since)}: RLIMIT_MEMLOCK does not limit BPF objects`
    : `BPF memory is charged to RLIMIT_MEMLOCK (no memcg accounting; Linux ${t.memcgAccounting.since}+ has it): tsbpf raises the limit (LoadOptions.memlock)`);
  out.push(`BPF_PROG_LOAD expected_attach_type ${t.program.expectedAttachType ? 'is available' : 'is NOT available'}`);
  out.push('', 'Scanning eBPF program types...');
  for (const [n, s] of Object.entries(t.programTypes)) out.push(`eBPF program_type ${n} ${state(s, t.kernel)}`);
  out.push('', 'Scanning eBPF map types...');
  for (const [n, s] of Object.entries(t.mapTypes)) out.push(`eBPF map_type ${n} ${state(s, t.kernel)}`);
  out.push('', 'Scanning eBPF helper functions...');
  for (const [n, h] of Object.entries(t.helpers)) {
    if (h.source === 'no-type') continue;
    out.push(`eBPF helpers supported for program type ${n}${h.source === 'kernel-enum' ? ' (not probed: needs an attach target; the helpers this kernel has)' : ''}:`);
    for (const name of h.available) out.push(`\t- ${name}`);
  }
  out.push('', 'Scanning eBPF instruction set extensions...');
  for (const [n, s] of Object.entries(t.instructions ?? {})) out.push(`eBPF instructions ${n} ${state(s, t.kernel)}`);
  out.push('', 'Scanning BTF features...');
  for (const [n, s] of Object.entries(t.btf)) out.push(`BTF ${n} ${state(s, t.kernel)}`);
  out.push('', 'Scanning eBPF link types (the kernel BTF\'s enum bpf_link_type)...');
  for (const [n, s] of Object.entries(t.linkTypes)) out.push(`eBPF link_type ${n} ${state(s, t.kernel, 'known')}`);
  out.push('', 'Scanning eBPF attach types (the kernel BTF\'s enum bpf_attach_type)...');
  for (const [n, s] of Object.entries(t.attachTypes)) out.push(`eBPF attach_type ${n} ${state(s, t.kernel, 'known')}`);
  return `${out.join('\n')}\n`;
}
