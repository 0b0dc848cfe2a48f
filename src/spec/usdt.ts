/**
 * USDT (user statically defined tracing) probes as <sys/sdt.h> records them, read as
 * libbpf's usdt.c reads them. Pure: bytes and strings in, plain data out.
 *
 * Each STAP_PROBEn / DTRACE_PROBEn site is one ELF note in `.note.stapsdt` (name
 * "stapsdt", type 3), whose descriptor is three addresses (the probe's NOP, the link-time
 * address of `.stapsdt.base`, the semaphore or 0) then three NUL-terminated strings:
 * provider, name, and the argument spec, e.g. `-4@$5 -4@%eax 8@-16(%rbp)`: SIZE@LOCATION
 * per argument, a negative size meaning signed. x86-64 locations libbpf takes: `$IMM`
 * (constant), `%REG` (register), `OFF(%REG)` / `(%REG)` (memory at register + offset) and
 * `OFF(%BASE,%INDEX,SCALE)` (scale-index-base, libbpf 1.7).
 *
 * The BPF side (libbpf's usdt.bpf.h) reads `struct __bpf_usdt_spec` values from the map
 * `__bpf_usdt_specs`: usdt-layout.ts encodes them with the layout the object's BTF gives.
 */
import { elfNotes } from '../elf/notes.js';
import { TsbpfError, type ErrorContext } from '../errors.js';

export const USDT_NOTE_SECTION = '.note.stapsdt';
export const USDT_BASE_SECTION = '.stapsdt.base';
export const USDT_SEMAPHORE_SECTION = '.probes';
export const USDT_NOTE_NAME = 'stapsdt';
/** NT_STAPSDT */
export const USDT_NOTE_TYPE = 3;
/** usdt.bpf.h's BPF_USDT_MAX_ARG_CNT (libbpf's USDT_MAX_ARG_CNT). */
export const USDT_MAX_ARG_COUNT = 12;

export type UsdtErrorReason =
  /** A `.note.stapsdt` note that cannot be read (truncated, strings not terminated, no name). */
  | 'note-malformed'
  /** An argument spec libbpf would not take either (unknown form, size, register or scale). */
  | 'arg-spec'
  /** More than BPF_USDT_MAX_ARG_CNT (12) arguments. */
  | 'arg-count'
  /** Argument specs of an architecture tsbpf does not read. */
  | 'arch'
  /** The object's `__bpf_usdt_specs` value is not the struct usdt.bpf.h declares. */
  | 'layout'
  /** No probe of that provider and name in the binary, or its address is in no segment. */
  | 'not-found'
  /** The object has no `__bpf_usdt_specs` / `__bpf_usdt_ip_to_spec_id` maps (usdt.bpf.h not included). */
  | 'no-maps'
  /** Spec ids ran out (`__bpf_usdt_specs` max_entries), or the ip map collided. */
  | 'spec-ids'
  /** What the kernel lacks: semaphore refcounts (uprobe ref_ctr_offset), cookies for a library without pid. */
  | 'unsupported';

/** A USDT note, its probe, or its argument spec that cannot be used, or an attach that cannot be made. */
export class UsdtError extends TsbpfError {
  override readonly reason: UsdtErrorReason;
  constructor(detail: string, ctx: ErrorContext, reason: UsdtErrorReason, cause?: unknown) {
    super(detail, ctx, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

/** One USDT note (one probe site). Addresses are link-time virtual addresses. */
export interface UsdtNote {
  provider: string;
  name: string;
  /** The argument spec string ('' for none). */
  args: string;
  /** Address of the probe's NOP. */
  location: bigint;
  /** Link-time address of `.stapsdt.base` (0 when absent). */
  base: bigint;
  /** Address of the 2-byte semaphore (0 when the probe has none). */
  semaphore: bigint;
  /** Offset of the note inside `.note.stapsdt`. */
  noteOffset: number;
}

/**
 * The notes of a `.note.stapsdt` section (ELF64 little-endian). Notes of other names or
 * types are passed over; a stapsdt note that cannot be read is an error naming its offset
 * (libbpf's parse_usdt_note fails the attach on it too).
 */
export function parseUsdtNotes(bytes: Uint8Array, ctx: ErrorContext = {}): UsdtNote[] {
  const where = { ...ctx, section: ctx.section ?? USDT_NOTE_SECTION };
  const dec = new TextDecoder('utf-8', { fatal: false });
  const badAt = (off: number, why: string) => new UsdtError(`stapsdt note: ${why}`, { ...where, offset: off }, 'note-malformed');
  const out: UsdtNote[] = [];
  for (const { name, type, desc, offset: off } of elfNotes(bytes, badAt)) {
    if (name !== USDT_NOTE_NAME || type !== USDT_NOTE_TYPE) continue;
    const bad = (why: string) => badAt(off, why);
    // three addresses, then provider, name and args, each NUL-terminated
    if (desc.length < 24 + 3) throw bad(`descriptor of ${desc.length} bytes: a stapsdt note holds 3 addresses and 3 strings (at least 27 bytes)`);
    const strings: string[] = [];
    let s = 24;
    for (let i = 0; i < 3; i++) {
      const end = desc.indexOf(0, s);
      if (end < 0) throw bad(`${['provider', 'name', 'argument spec'][i]} is not NUL-terminated`);
      strings.push(dec.decode(desc.subarray(s, end)));
      s = end + 1;
    }
    const [provider, probe, args] = strings as [string, string, string];
    if (probe === '') throw bad(`probe of provider '${provider}' has an empty name`);
    const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
    out.push({
      provider, name: probe,
      // libbpf: an empty spec, or one starting with ':' (an old sdt.h quirk), means no arguments
      args: args.startsWith(':') ? '' : args,
      location: dv.getBigUint64(0, true),
      base: dv.getBigUint64(8, true),
      semaphore: dv.getBigUint64(16, true),
      noteOffset: off,
    });
  }
  return out;
}

/** How libbpf's BPF side fetches an argument (enum __bpf_usdt_arg_type). */
export type UsdtArgKind = 'const' | 'reg' | 'reg-deref' | 'sib';
export const USDT_ARG_KIND_VALUES: Readonly<Record<UsdtArgKind, number>> = { const: 0, reg: 1, 'reg-deref': 2, sib: 3 };

/** One parsed argument: what `struct __bpf_usdt_arg_spec` holds, with names. */
export interface UsdtArg {
  /** The argument's text ('-4@-20(%rbp)'). */
  text: string;
  /** 1, 2, 4 or 8 bytes. */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  kind: UsdtArgKind;
  /** const: the value; reg-deref / sib: the memory offset; reg: 0 (val_off, a u64). */
  value: bigint;
  /** The register as written ('eax'), and offsetof(struct pt_regs, it): reg, reg-deref, sib. */
  register?: string;
  regOffset: number;
  /** sib: the index register, its pt_regs offset and log2 of the scale. */
  indexRegister?: string;
  indexRegOffset?: number;
  scaleShift?: number;
  /** Bits the BPF side shifts out to narrow a 64-bit read to `size` (64 - 8 * size). */
  bitshift: number;
}

/**
 * offsetof(struct pt_regs, REG) on x86-64 (arch/x86/include/asm/ptrace.h, checked against
 * <asm/ptrace.h> in test/unit/usdt.test.ts), under every name the assembler gives its
 * parts: 'rax', 'eax', 'ax', 'al' read the same slot; the BPF side narrows.
 */
export const X86_64_PT_REGS: ReadonlyArray<{ names: readonly string[]; offset: number; field: string }> = [
  { names: ['rip', 'eip'], offset: 128, field: 'rip' },
  { names: ['rax', 'eax', 'ax', 'al'], offset: 80, field: 'rax' },
  { names: ['rbx', 'ebx', 'bx', 'bl'], offset: 40, field: 'rbx' },
  { names: ['rcx', 'ecx', 'cx', 'cl'], offset: 88, field: 'rcx' },
  { names: ['rdx', 'edx', 'dx', 'dl'], offset: 96, field: 'rdx' },
  { names: ['rsi', 'esi', 'si', 'sil'], offset: 104, field: 'rsi' },
  { names: ['rdi', 'edi', 'di', 'dil'], offset: 112, field: 'rdi' },
  { names: ['rbp', 'ebp', 'bp', 'bpl'], offset: 32, field: 'rbp' },
  { names: ['rsp', 'esp', 'sp', 'spl'], offset: 152, field: 'rsp' },
  { names: ['r8', 'r8d', 'r8w', 'r8b'], offset: 72, field: 'r8' },
  { names: ['r9', 'r9d', 'r9w', 'r9b'], offset: 64, field: 'r9' },
  { names: ['r10', 'r10d', 'r10w', 'r10b'], offset: 56, field: 'r10' },
  { names: ['r11', 'r11d', 'r11w', 'r11b'], offset: 48, field: 'r11' },
  { names: ['r12', 'r12d', 'r12w', 'r12b'], offset: 24, field: 'r12' },
  { names: ['r13', 'r13d', 'r13w', 'r13b'], offset: 16, field: 'r13' },
  { names: ['r14', 'r14d', 'r14w', 'r14b'], offset: 8, field: 'r14' },
  { names: ['r15', 'r15d', 'r15w', 'r15b'], offset: 0, field: 'r15' },
];
const X86_64_REG_OFFSET = new Map(X86_64_PT_REGS.flatMap((r) => r.names.map((n) => [n, r.offset] as const)));

/** Node's process.arch values whose USDT argument specs tsbpf reads. */
export const USDT_ARCHES = ['x64'] as const;

// SIZE@LOCATION, spaces allowed around the parts as libbpf's sscanf patterns allow them
const INT = String.raw`([-+]?\d+)`;
const REG = String.raw`%([A-Za-z0-9]+)`;
const SIB = new RegExp(String.raw`^${INT}\s*@\s*${INT}?\s*\(\s*${REG}\s*,\s*${REG}\s*(?:,\s*${INT}\s*)?\)$`);
const DEREF = new RegExp(String.raw`^${INT}\s*@\s*${INT}?\s*\(\s*${REG}\s*\)$`);
const REGISTER = new RegExp(String.raw`^${INT}\s*@\s*${REG}$`);
const CONSTANT = new RegExp(String.raw`^${INT}\s*@\s*\$${INT}$`);

/**
 * Splits an argument spec into its arguments: they are separated by spaces, and an
 * argument has none outside parentheses except around '@' (which sdt.h never writes).
 */
function splitArgs(spec: string): string[] {
  const out: string[] = [];
  let cur = '', depth = 0;
  for (const ch of spec.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (/\s/.test(ch) && depth === 0) {
      if (cur !== '' && !cur.endsWith('@')) { out.push(cur); cur = ''; }
      continue;
    }
    cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * The arguments of a spec string, as libbpf's parse_usdt_spec / parse_usdt_arg (x86-64)
 * read them. `what` names the probe in errors ('provider:name in FILE').
 */
export function parseUsdtArgs(spec: string, ctx: ErrorContext = {}, what = 'USDT probe', arch: string = process.arch): UsdtArg[] {
  if (!(USDT_ARCHES as readonly string[]).includes(arch)) {
    throw new UsdtError(`${what}: USDT argument specs of architecture '${arch}' are not read by tsbpf (${USDT_ARCHES.join(', ')} only)`, ctx, 'arch');
  }
  const texts = splitArgs(spec);
  if (texts.length > USDT_MAX_ARG_COUNT) {
    throw new UsdtError(`${what}: ${texts.length} arguments ('${spec}'): usdt.bpf.h reads at most ${USDT_MAX_ARG_COUNT} (BPF_USDT_MAX_ARG_CNT)`, ctx, 'arg-count');
  }
  return texts.map((t, i) => parseArg(t, i, ctx, what));
}

function parseArg(text: string, index: number, ctx: ErrorContext, what: string): UsdtArg {
  const bad = (why: string) => new UsdtError(`${what}: argument #${index} '${text}': ${why}`, ctx, 'arg-spec');
  const reg = (name: string) => {
    const off = X86_64_REG_OFFSET.get(name);
    if (off === undefined) throw bad(`register '%${name}' is not one libbpf reads (rax..r15 and their 32/16/8-bit names, rip)`);
    return off;
  };
  let m: RegExpExecArray | null;
  let sizeText: string, arg: Omit<UsdtArg, 'text' | 'size' | 'signed' | 'bitshift'>;
  if ((m = SIB.exec(text))) {
    const scale = m[5] === undefined ? 1 : Number(m[5]);
    const shift = [1, 2, 4, 8].indexOf(scale);
    if (shift < 0) throw bad(`scale ${scale}: expected 1, 2, 4 or 8`);
    sizeText = m[1]!;
    arg = { kind: 'sib', value: BigInt(m[2] ?? 0), register: m[3]!, regOffset: reg(m[3]!), indexRegister: m[4]!, indexRegOffset: reg(m[4]!), scaleShift: shift };
  } else if ((m = DEREF.exec(text))) {
    sizeText = m[1]!;
    arg = { kind: 'reg-deref', value: BigInt(m[2] ?? 0), register: m[3]!, regOffset: reg(m[3]!) };
  } else if ((m = REGISTER.exec(text))) {
    sizeText = m[1]!;
    arg = { kind: 'reg', value: 0n, register: m[2]!, regOffset: reg(m[2]!) };
  } else if ((m = CONSTANT.exec(text))) {
    sizeText = m[1]!;
    arg = { kind: 'const', value: BigInt(m[2]!), regOffset: 0 };
  } else {
    throw bad('not a form libbpf reads: SIZE@$IMM, SIZE@%REG, SIZE@OFF(%REG), SIZE@OFF(%BASE,%INDEX,SCALE)');
  }
  const n = Number(sizeText);
  const size = Math.abs(n);
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw bad(`size ${n}: expected 1, 2, 4 or 8 bytes (negative: signed)`);
  return { text, size, signed: n < 0, bitshift: 64 - size * 8, ...arg };
}
