/**
 * Pure preparation for the kernel (no syscalls): kernel-safe names, instructions with
 * map fds patched in, func_info / line_info records, BTF rewritten for BPF_BTF_LOAD.
 */
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, encodeAt, encodedSize, OP_CALL, OP_LD_IMM64, rawOffsets } from '../asm/index.js';
import type { Instruction } from '../asm/types.js';
import type { FuncInfo, LineInfo } from '../btf/types.js';
import { slabBytes, viewOver } from '../bytes.js';
import { TsbpfError } from '../errors.js';
import type { MapSpec, ProgramSpec } from '../spec/types.js';

const BPF_OBJ_NAME_LEN = 16;

/** Whether char code `c` is kept in a kernel object name: [A-Za-z0-9_.]. */
function nameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e;
}

/** `name` with '_' for each UTF-16 unit not kept (nameChar); most names come back as they are. */
function sanitize(name: string): string {
  // a loop over the characters instead of a regex replace per name, and one rule (nameChar)
  for (let i = 0; i < name.length; i++) {
    if (nameChar(name.charCodeAt(i))) continue;
    let out = name.slice(0, i);
    for (let j = i; j < name.length; j++) out += nameChar(name.charCodeAt(j)) ? name[j] : '_';
    return out;
  }
  return name;
}

/** The last file objectName was asked about, and its answer. */
let lastObject: { file: string; name: string } | undefined;

/** The object's name as libbpf takes it: the file's basename up to its first '.'. */
export function objectName(file: string): string {
  if (lastObject?.file === file) return lastObject.name; // an object loaded again: its name once
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  const name = dot > 0 ? base.slice(0, dot) : base || 'buffer';
  lastObject = { file, name };
  return name;
}

/**
 * The name the kernel is given for a map (15 characters at most). Global data maps are
 * named as libbpf names them: up to 8 characters of the object name + the section
 * ('global_d.rodata'); a section with a second dot keeps its own name ('.rodata.str1.1').
 */
export function kernelMapName(objName: string, m: MapSpec): string {
  if (m.kind !== 'data') return sanitize(m.name).slice(0, BPF_OBJ_NAME_LEN - 1);
  const real = m.section;
  const sfx = Math.max(7, real.length);
  const pfx = real.indexOf('.', 1) >= 0 ? 0 : Math.max(0, Math.min(BPF_OBJ_NAME_LEN - sfx - 1, objName.length));
  return sanitize((objName.slice(0, pfx) + real).slice(0, BPF_OBJ_NAME_LEN - 1));
}

export function kernelProgName(p: ProgramSpec): string {
  return sanitize(p.name).slice(0, BPF_OBJ_NAME_LEN - 1);
}

/** libbpf's POISON_LDIMM64_MAP_BASE: a reference to map n (in the spec's map order) that was not created. */
export const POISON_LDIMM64_MAP_BASE = 2001000000;

/**
 * Copies the program's instructions with every map reference resolved to an fd:
 * `ld_imm64 rX, map` -> src BPF_PSEUDO_MAP_FD, imm = fd; a data reference ->
 * BPF_PSEUDO_MAP_VALUE, imm = fd, second imm = offset. Returns the encoded bytes.
 * A reference to a map of the object that was not created (autocreate off; `notCreated`
 * gives its index) becomes two calls of an invalid helper (`call unknown#2001000000 + n`
 * in the ld_imm64's two slots), libbpf's shape (its n indexes libbpf's own map list): the
 * verifier refuses the program only if it reaches one. `insns` are the program's
 * instructions after CO-RE and extern resolution (default: `p.instructions`).
 */
export function patchInstructions(
  p: ProgramSpec, mapFd: (name: string) => number | undefined, file: string,
  notCreated?: (name: string) => number | undefined, insns: readonly Instruction[] = p.instructions,
): Uint8Array {
  // one pass, written straight into the output bytes: an instruction that changes is
  // written from a small literal (no copy of the instruction object, no array of them)
  const out = slabBytes(encodedSize(insns));
  for (let i = 0, o = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const ref = insn.reference;
    if (!ref || (ref.kind !== 'map' && ref.kind !== 'extern')) { o = encodeAt(out, o, insn, i); continue; }
    if (ref.kind === 'extern') {
      throw new TsbpfError(`program '${p.name}' uses extern '${ref.name}' (instruction ${rawOffsets(insns)[i]}) that was not resolved against the kernel (resolveExterns)`, { file, section: p.section, symbol: p.name });
    }
    const fd = mapFd(ref.name);
    if (fd === undefined) {
      const idx = notCreated?.(ref.name);
      if (idx !== undefined && insn.opcode === OP_LD_IMM64) {
        const call: Instruction = { opcode: OP_CALL, dst: 0, src: 0, off: 0, imm: POISON_LDIMM64_MAP_BASE + idx };
        o = encodeAt(out, encodeAt(out, o, call, i), call, i);
        continue;
      }
      throw new TsbpfError(`program '${p.name}' references map '${ref.name}', which was not created`, { file, section: p.section, symbol: p.name });
    }
    // ld_imm64: BPF_PSEUDO_MAP_FD with the fd, or BPF_PSEUDO_MAP_VALUE with the fd and the
    // value offset in the second half's imm
    const at = o;
    o = encodeAt(out, o, { opcode: insn.opcode, dst: insn.dst, src: ref.value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD, off: insn.off, imm: fd }, i);
    if (ref.value && insn.opcode === OP_LD_IMM64) {
      const hi = (ref.offset ?? 0) >>> 0;
      out[at + 12] = hi & 0xff;
      out[at + 13] = (hi >>> 8) & 0xff;
      out[at + 14] = (hi >>> 16) & 0xff;
      out[at + 15] = (hi >>> 24) & 0xff;
    }
  }
  return out;
}

/** A verifier log that stopped on a poisoned map reference: which map (by `names[n]`). */
export function explainMissingMap(names: readonly string[], log: string): string | undefined {
  const m = /unknown#(2001\d{6})/.exec(log);
  if (!m) return undefined;
  const name = names[Number(m[1]) - POISON_LDIMM64_MAP_BASE];
  return name ? `the verifier reached a use of map '${name}', which was not created (autocreate off): create it, or make that path unreachable` : undefined;
}

/** sizeof(struct bpf_func_info): insn_off, type_id. */
export const FUNC_INFO_REC_SIZE = 8;
/** sizeof(struct bpf_line_info): insn_off, file_name_off, line_off, line_col (line << 10 | column). */
export const LINE_INFO_REC_SIZE = 16;

export function funcInfoBytes(records: FuncInfo[]): Uint8Array {
  const b = slabBytes(records.length * FUNC_INFO_REC_SIZE);
  const dv = viewOver(b);
  for (let i = 0, o = b.byteOffset; i < records.length; i++, o += FUNC_INFO_REC_SIZE) {
    const r = records[i]!;
    dv.setUint32(o, r.insnOff, true);
    dv.setUint32(o + 4, r.typeId, true);
  }
  return b;
}

export function lineInfoBytes(records: LineInfo[]): Uint8Array {
  const b = slabBytes(records.length * LINE_INFO_REC_SIZE);
  const dv = viewOver(b);
  for (let i = 0, o = b.byteOffset; i < records.length; i++, o += LINE_INFO_REC_SIZE) {
    const r = records[i]!;
    dv.setUint32(o, r.insnOff, true);
    dv.setUint32(o + 4, r.fileNameOff, true);
    dv.setUint32(o + 8, r.lineOff, true);
    dv.setUint32(o + 12, ((r.lineNum & 0x3fffff) << 10 | (r.column & 0x3ff)) >>> 0, true);
  }
  return b;
}
