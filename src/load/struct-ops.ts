/**
 * struct_ops maps against the running kernel, as libbpf does it
 * (find_struct_ops_kern_types, bpf_map__init_kern_struct_ops, bpf_map_prepare_vdata):
 *  - the kernel has `struct <name>` and `struct bpf_struct_ops_<name>` (the map's value:
 *    common refcnt / state, then the struct as one member, `data`);
 *  - the map is created with value_size = sizeof(bpf_struct_ops_<name>) and
 *    btf_vmlinux_value_type_id = its id (btf_fd of the object, no key / value type ids);
 *  - the value is built member by member, BY NAME: scalars and arrays (the `name`
 *    string, `flags`) are copied when their sizes agree, function pointers get the fd of
 *    the program set there, a member the kernel lacks is skipped when it is zero (with
 *    its program, as libbpf does) and refused otherwise; bitfields are refused;
 *  - each program is loaded with attach_btf_id = the kernel's `struct <name>` and
 *    expected_attach_type = the member's index in it; one program may serve several
 *    created maps only for the same kernel struct and member (maps that are not
 *    created, autocreate off, are not planned and do not count);
 *  - BPF_MAP_UPDATE_ELEM(key 0, value) registers a plain `.struct_ops` map (a TCP
 *    congestion control appears in tcp_available_congestion_control). The registration
 *    holds a reference on the map: closing the fd does NOT unregister, deleting key 0
 *    does (bpftool struct_ops unregister; libbpf's detach of a non-link struct_ops).
 *    A `.struct_ops.link` map (BPF_F_LINK) only becomes "ready" by the update; a BPF
 *    link (BPF_LINK_CREATE on the map fd: BpfMap.attachStructOps) registers it.
 */
import type { Btf } from '../btf/index.js';
import type { BtfType } from '../btf/types.js';
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { MapSpec } from '../spec/types.js';
import { cString } from '../sys/index.js';
import { inVmlinux, type KernelTypes } from './kernel-refs.js';

const VALUE_PREFIX = 'bpf_struct_ops_';

/** A struct_ops map's kernel side, before its programs are loaded. */
export interface StructOpsPlan {
  map: MapSpec;
  /** `struct <name>` in the kernel's BTF: every program's attach_btf_id. */
  kernTypeId: number;
  /** `struct bpf_struct_ops_<name>`: btf_vmlinux_value_type_id. */
  kernValueTypeId: number;
  /** Size of the kernel's value: the map's value_size. */
  valueSize: number;
  /** The value with scalars copied; program fds go in at `slots[].offset`. */
  value: Uint8Array;
  slots: Array<{ member: string; program: string; offset: number; kernMemberIndex: number }>;
  /** Members the kernel does not have, left out because they are zero (their programs are not loaded for this map). */
  skipped: string[];
  /**
   * The value's `name` member (char[]), the name the kernel registers it under
   * (tcp_available_congestion_control lists it), when the struct has one.
   */
  valueName?: string;
}

function isFuncPtr(btf: Btf, t: BtfType): boolean {
  return t.kind === 'ptr' && btf.resolveType(t.type).kind === 'func_proto';
}

/** Finds the kernel's types and builds the value (fds still 0). */
export function planStructOps(m: MapSpec, localBtf: Btf, types: KernelTypes, file: string): StructOpsPlan {
  const structOps = m.structOps!;
  const ctx: ErrorContext = { file, section: m.section, symbol: m.name };
  const name = structOps.typeName;
  const kt = types.find(name, 'struct');
  if (!kt) throw new TsbpfError(`struct_ops map '${m.name}': struct ${name} is not in the kernel's BTF (this kernel has no such struct_ops type)`, ctx);
  if (!inVmlinux(kt.source)) {
    throw new TsbpfError(`struct_ops map '${m.name}': struct ${name} lives in module ${kt.source}: struct_ops of modules are not supported yet`, ctx);
  }
  const kvt = types.find(VALUE_PREFIX + name, 'struct');
  if (!kvt || kvt.btf !== kt.btf) throw new TsbpfError(`struct_ops map '${m.name}': struct ${VALUE_PREFIX}${name} is not in the kernel's BTF: ${name} is not a struct_ops type of this kernel`, ctx);
  const kbtf = kt.btf;
  const kType = kbtf.typeById(kt.id);
  const kvType = kbtf.typeById(kvt.id);
  if (kType.kind !== 'struct' || kvType.kind !== 'struct') throw new TsbpfError(`struct_ops map '${m.name}': kernel types of ${name} are not structs`, ctx);
  const dataMember = kvType.members.find((x) => x.type === kt.id);
  if (!dataMember) throw new TsbpfError(`struct_ops map '${m.name}': struct ${VALUE_PREFIX}${name} has no member of type struct ${name}`, ctx);
  const dataOff = dataMember.bitOffset / 8;

  const local = localBtf.typeById(structOps.typeId);
  if (local.kind !== 'struct') throw new TsbpfError(`struct_ops map '${m.name}': its BTF type is not a struct`, ctx);
  const data = m.data ?? new Uint8Array(local.size);
  const value = new Uint8Array(kvType.size);
  const slots: StructOpsPlan['slots'] = [];
  const skipped: string[] = [];
  let valueName: string | undefined;
  local.members.forEach((mem, i) => {
    const moff = mem.bitOffset / 8;
    const msize = localBtf.sizeof(mem.type);
    const bytes = data.subarray(moff, moff + msize);
    const prog = structOps.programs.find((p) => p.memberIndex === i);
    const where = `struct_ops map '${m.name}': member '${mem.name}'`;
    const kIndex = mem.name === '' ? -1 : kType.members.findIndex((x) => x.name === mem.name);
    if (kIndex < 0) {
      if (bytes.some((b) => b !== 0)) throw new TsbpfError(`${where} is not in the kernel's struct ${name}, and the object sets it`, ctx);
      if (mem.name !== '') skipped.push(prog ? `${mem.name} (program '${prog.program}')` : mem.name);
      return;
    }
    const kmem = kType.members[kIndex]!;
    if (mem.bitfieldSize || kmem.bitfieldSize) throw new TsbpfError(`${where} is a bitfield: not supported (as in libbpf)`, ctx);
    const lt = localBtf.resolveType(mem.type);
    const kmt = kbtf.resolveType(kmem.type);
    if (lt.kind !== kmt.kind) throw new TsbpfError(`${where} is a ${lt.kind} in the object but a ${kmt.kind} in the kernel`, ctx);
    const koff = dataOff + kmem.bitOffset / 8;
    if (lt.kind === 'ptr') {
      if (!prog) return; // a NULL pointer: the kernel's zero stays
      if (!isFuncPtr(kbtf, kmt)) throw new TsbpfError(`${where}: the kernel's member is not a function pointer`, ctx);
      slots.push({ member: mem.name, program: prog.program, offset: koff, kernMemberIndex: kIndex });
      return;
    }
    const ksize = kbtf.sizeof(kmem.type);
    if (ksize !== msize) throw new TsbpfError(`${where} is ${msize} bytes in the object but ${ksize} in the kernel`, ctx);
    value.set(bytes, koff);
    if (mem.name === 'name' && lt.kind === 'array') valueName = cString(bytes);
  });
  const plan: StructOpsPlan = { map: m, kernTypeId: kt.id, kernValueTypeId: kvt.id, valueSize: kvType.size, value, slots, skipped };
  if (valueName !== undefined) plan.valueName = valueName;
  return plan;
}

/** What a struct_ops program implements: the kernel struct (its attach_btf_id) and the member's index (its expected_attach_type). */
export interface StructOpsMember {
  btfId: number;
  memberIndex: number;
  /** The (first) map that uses it there. */
  map: string;
}

/**
 * attach_btf_id / expected_attach_type of every program a plan uses. A program used by
 * two maps must implement the same kernel struct and member in both (libbpf's rule,
 * checked in bpf_map__init_kern_struct_ops): pass only the plans of the maps that are
 * created, since libbpf checks only those.
 */
export function structOpsAttach(plans: StructOpsPlan[], file: string): Map<string, StructOpsMember> {
  const out = new Map<string, StructOpsMember & { member: string; typeName: string }>();
  for (const pl of plans) {
    for (const s of pl.slots) {
      const have = out.get(s.program);
      const typeName = pl.map.structOps!.typeName;
      if (have && (have.btfId !== pl.kernTypeId || have.memberIndex !== s.kernMemberIndex)) {
        throw new TsbpfError(
          `struct_ops map '${pl.map.name}': program '${s.program}' is ${have.typeName}.${have.member} (kernel member ${have.memberIndex}) in map '${have.map}' ` +
          `and cannot also be ${typeName}.${s.member} (kernel member ${s.kernMemberIndex}): a program has one attach_btf_id and expected_attach_type ` +
          '(libbpf: "invalid reuse of prog"); create only one of these maps (MapSpec.autocreate / LoadOptions.autocreate)',
          { file, section: pl.map.section, symbol: pl.map.name },
        );
      }
      if (!have) out.set(s.program, { btfId: pl.kernTypeId, memberIndex: s.kernMemberIndex, map: pl.map.name, member: s.member, typeName });
    }
  }
  return out;
}

/** The value to write at key 0: the plan's bytes with each program's fd (a u64) in its slot. */
export function structOpsValue(pl: StructOpsPlan, progFd: (name: string) => number | undefined, file: string): Uint8Array {
  const v = Uint8Array.from(pl.value);
  const dv = new DataView(v.buffer);
  for (const s of pl.slots) {
    const fd = progFd(s.program);
    if (fd === undefined) {
      throw new TsbpfError(`struct_ops map '${pl.map.name}': member '${s.member}' needs program '${s.program}', which is not being loaded`, { file, section: pl.map.section, symbol: pl.map.name });
    }
    dv.setBigUint64(s.offset, BigInt(fd), true);
  }
  return v;
}

/** What a loaded struct_ops map is, for reports. */
export interface StructOpsState {
  typeName: string;
  /** The kernel's `struct <name>` id (the programs' attach_btf_id). */
  kernelTypeId: number;
  /** Registered with the kernel by the update (plain `.struct_ops`): unregistered at close(). */
  registered: boolean;
  /** BPF_F_LINK map: its value is set; a BPF link (BpfMap.attachStructOps) registers it. */
  link: boolean;
  programs: Array<{ member: string; program: string }>;
  /** Members the kernel lacks, left out because they are zero. */
  skipped: string[];
  /** One sentence for reports. */
  note: string;
}

export const STRUCT_OPS_LINK_NOTE =
  'created with BPF_F_LINK and its value set, but NOT registered yet: map.attachStructOps() registers it through a BPF link (BPF_LINK_CREATE, attach type struct_ops, on the map fd), for as long as the link is open or pinned';
