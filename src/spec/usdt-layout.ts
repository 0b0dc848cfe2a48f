/**
 * `struct __bpf_usdt_spec`, the value of libbpf's `__bpf_usdt_specs` map, laid out from
 * the object's own BTF: libbpf 1.0-1.6 headers declare `arg_type` as a plain enum,
 * libbpf 1.7 packs it into bitfields beside `idx_reg_off` / `scale_bitshift` (keeping
 * `reg_off` where it was). Reading the members' offsets from BTF writes what the program
 * was compiled to read, whichever header it saw. Pure.
 */
import type { Btf } from '../btf/index.js';
import type { ErrorContext } from '../errors.js';
import { USDT_ARG_KIND_VALUES, USDT_MAX_ARG_COUNT, UsdtError, type UsdtArg } from './usdt.js';

/** Where a field is: its first bit in the value and its width in bits. */
export interface FieldBits { bitOffset: number; bits: number }

const ARG_FIELDS = ['val_off', 'arg_type', 'reg_off', 'arg_signed', 'arg_bitshift'] as const;
const SIB_FIELDS = ['idx_reg_off', 'scale_bitshift'] as const;
type ArgField = (typeof ARG_FIELDS)[number] | (typeof SIB_FIELDS)[number];

export interface UsdtSpecLayout {
  /** sizeof(struct __bpf_usdt_spec) */
  size: number;
  /** The `args` array: its offset, element size and length. */
  args: { offset: number; stride: number; count: number };
  /** Fields of struct __bpf_usdt_arg_spec, relative to one element (idx_reg_off / scale_bitshift only in libbpf 1.7+ headers). */
  arg: Partial<Record<ArgField, FieldBits>>;
  cookie: FieldBits;
  argCount: FieldBits;
}

/**
 * The layout of `struct __bpf_usdt_spec` (type `valueType` in `btf`, the specs map's
 * value): an error naming the member that is missing or of another shape.
 */
export function usdtSpecLayout(btf: Btf, valueType: number, ctx: ErrorContext = {}): UsdtSpecLayout {
  const bad = (why: string) => new UsdtError(`__bpf_usdt_specs: its value type is not usdt.bpf.h's struct __bpf_usdt_spec: ${why}`, { ...ctx, typeId: valueType }, 'layout');
  const spec = btf.resolveType(valueType);
  if (spec.kind !== 'struct') throw bad(`type id ${valueType} is a ${spec.kind}`);
  const field = (struct: number, name: string): FieldBits => {
    const m = btf.findMember(struct, name);
    if (!m) throw bad(`no member '${name}' in ${btf.resolveType(struct).name || 'the struct'}`);
    const bits = m.member.bitfieldSize || 8 * btf.sizeof(m.member.type);
    return { bitOffset: m.bitOffset, bits };
  };
  const argsRef = btf.findMember(spec.id, 'args');
  if (!argsRef) throw bad("no member 'args'");
  const arr = btf.resolveType(argsRef.member.type);
  if (arr.kind !== 'array') throw bad(`'args' is a ${arr.kind}, not an array`);
  if (arr.nelems < USDT_MAX_ARG_COUNT) throw bad(`'args' has ${arr.nelems} elements, BPF_USDT_MAX_ARG_CNT is ${USDT_MAX_ARG_COUNT}`);
  const argType = btf.resolve(arr.type);
  const arg: Partial<Record<ArgField, FieldBits>> = {};
  for (const f of ARG_FIELDS) arg[f] = field(argType, f);
  for (const f of SIB_FIELDS) if (btf.findMember(argType, f)) arg[f] = field(argType, f);
  if (argsRef.bitOffset % 8) throw bad("'args' is not byte-aligned");
  return {
    size: btf.sizeof(spec.id),
    args: { offset: argsRef.bitOffset / 8, stride: btf.sizeof(argType), count: arr.nelems },
    arg,
    cookie: field(spec.id, 'usdt_cookie'),
    argCount: field(spec.id, 'arg_cnt'),
  };
}

/** Writes the low `f.bits` bits of `value` at bit `base + f.bitOffset` (little-endian bit order, as BTF bitfields on x86-64). */
function put(buf: Uint8Array, base: number, f: FieldBits, value: bigint): void {
  const v = BigInt.asUintN(f.bits, value);
  for (let i = 0; i < f.bits; i++) {
    const bit = base + f.bitOffset + i;
    const byte = bit >> 3, mask = 1 << (bit & 7);
    if ((v >> BigInt(i)) & 1n) buf[byte]! |= mask; else buf[byte]! &= ~mask;
  }
}

/**
 * The bytes of one `struct __bpf_usdt_spec`: the arguments, the USDT cookie
 * (bpf_usdt_cookie()) and the count. `what` names the probe in errors.
 */
export function encodeUsdtSpec(layout: UsdtSpecLayout, args: readonly UsdtArg[], cookie: bigint, what = 'USDT probe', ctx: ErrorContext = {}): Uint8Array {
  if (args.length > layout.args.count) throw new UsdtError(`${what}: ${args.length} arguments, the object's __bpf_usdt_spec holds ${layout.args.count}`, ctx, 'arg-count');
  const buf = new Uint8Array(layout.size);
  args.forEach((a, i) => {
    const base = (layout.args.offset + i * layout.args.stride) * 8;
    const f = layout.arg;
    if (a.kind === 'sib' && (!f.idx_reg_off || !f.scale_bitshift)) {
      throw new UsdtError(`${what}: argument #${i} '${a.text}' is scale-index-base, which the object's usdt.bpf.h cannot read (libbpf 1.7 headers have idx_reg_off / scale_bitshift)`, ctx, 'layout');
    }
    put(buf, base, f.val_off!, a.value);
    put(buf, base, f.arg_type!, BigInt(USDT_ARG_KIND_VALUES[a.kind]));
    put(buf, base, f.reg_off!, BigInt(a.regOffset));
    put(buf, base, f.arg_signed!, a.signed ? 1n : 0n);
    put(buf, base, f.arg_bitshift!, BigInt(a.bitshift));
    if (a.kind === 'sib') {
      put(buf, base, f.idx_reg_off!, BigInt(a.indexRegOffset!));
      put(buf, base, f.scale_bitshift!, BigInt(a.scaleShift!));
    }
  });
  put(buf, 0, layout.cookie, cookie);
  put(buf, 0, layout.argCount, BigInt(args.length));
  return buf;
}
