/** What the CLI found for one object (types only: rendered as text, JSON and JUnit). */
import type { TailCallGraph } from './graph.js';

export type Verdict = 'accepted' | 'rejected' | 'skipped';

/**
 * Why a refusal happened, as typed fields: `missing` a kernel feature (kind, its name, the
 * release that brings it), or `reason` a TsbpfError's reason ('struct-ops-link-unsupported').
 */
export interface RefusalWhy {
  missing?: { kind: string; feature: string; since?: string; reason: string };
  reason?: string;
}

export interface ProgramResult {
  name: string;
  section: string;
  /** null: the section gave no type and none was set (--type PROG=TYPE). */
  type: string | null;
  attachType?: string;
  verdict: Verdict;
  /** Instruction slots (8 bytes each, as the kernel counts), subprograms included. */
  insns: number;
  /** Instructions the verifier processed (kernel's verified_insns, or "processed N insns" of a rejection log). */
  verifiedInsns: number | null;
  loadMs: number | null;
  /** Why it was rejected / skipped. */
  error?: string;
  /** Kernel program id while loaded. */
  id?: number;
  pinnedAt?: string;
  /** A rejection explained by a kernel feature this kernel lacks (MissingFeatureError), or its typed reason. */
  why?: RefusalWhy;
  /** Rejections: the failing instruction, its source line, what tsbpf knows about why (VerifierError.explanation), the last lines of the log. */
  rejection?: { insn?: number; disasm?: string; source?: string; explanation?: string; tail: string[] };
  /** Full verifier log, when asked for (--log) or on a rejection. */
  log?: string;
  /** Where its kfuncs, typed ksyms and attach target were found ('kfunc bpf_xdp_ct_lookup in nf_conntrack'). */
  kernelRefs?: string[];
  /** --attach: what it is attached to, why it was skipped, or why attaching failed. */
  attached?: { hook: string; target: string } | { skipped: string } | { error: string };
}

export interface MapResult {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  contents?: Array<{ key: number; value: string }>;
  id?: number;
  pinnedAt?: string;
  /** Pinned by name (LIBBPF_PIN_BY_NAME): 'reused' an existing pin, or 'created' by this run. */
  byName?: 'reused' | 'created';
  /** Set when the map is not created (autocreate off: `SEC("?.struct_ops")`): why, and how to change it. */
  notCreated?: string;
}

export interface ObjectResult {
  file: string;
  license: string;
  loaded: boolean;
  programs: ProgramResult[];
  maps: MapResult[];
  /** Slots filled in the kernel (or, without a load, in the object). */
  tailCalls: Array<{ map: string; slot: number; program: string }>;
  graph: TailCallGraph;
  warnings: string[];
  /** An error that stopped the whole object from loading (maps, BTF, ...). */
  error?: string;
  /** That error's kernel feature or typed reason, when it has one (a map type the kernel lacks). */
  errorWhy?: RefusalWhy;
  /** What happens when the CLI exits. */
  atExit: string[];
  /** --attach failed for one of its programs (nothing of the object stays attached). */
  attachError?: string;
}
