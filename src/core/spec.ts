/**
 * CO-RE access specifications (libbpf's bpf_core_spec): the local one parsed from a
 * relocation's access string ("0:1:2"), and a target one found by matching it against
 * a candidate type.
 */
import type { Btf, BtfType, CoreRelo } from '../btf/index.js';
import { TypeWalk } from '../btf/walk.js';
import { CoreError } from './errors.js';
import { fieldsAreCompat, typesAreCompat, typesMatch } from './compat.js';
import { essentialName, isComposite, isEnumKind } from './names.js';
import { BPF_CORE_TYPE_MATCHES, isEnumvalBased, isFieldBased, isTypeBased, kindName } from './kinds.js';

/** Maximum number of access string components (BPF_CORE_SPEC_MAX_LEN). */
export const CORE_SPEC_MAX_LEN = 64;

export interface CoreAccessor {
  /** Named member: the struct/union holding it. Array element / root: the element type (typedefs skipped). Enumerator: the enum. */
  typeId: number;
  idx: number;
  /** Member or enumerator name; undefined for array indexing (and the root's index). */
  name?: string;
}

export interface CoreSpec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  /** Raw access indices, anonymous members included. */
  raw: number[];
  /** High-level accessors: named members, array indices, the enumerator. */
  acc: CoreAccessor[];
  bitOffset: number;
}

type Agg = BtfType & { kind: 'struct' | 'union' };
type Arr = BtfType & { kind: 'array' };

function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, arr: Arr): boolean {
  if (!prev || prev.name === undefined || arr.nelems > 0) return false;
  const t = btf.typeById(prev.typeId) as Agg;
  return prev.idx === t.members.length - 1;
}

/** bpf_core_parse_spec: the local spec of `relo`. Throws CoreError when the access string does not fit the type. */
export function parseSpec(btf: Btf, relo: CoreRelo): CoreSpec {
  const fail = (why: string) => new CoreError(`CO-RE ${kindName(relo.kind)} relocation: access string "${relo.accessStr}" on type id ${relo.typeId}: ${why}`, { typeId: relo.typeId });
  if (!/^\d+(:\d+)*$/.test(relo.accessStr)) throw fail('not a list of decimal indices');
  const raw = relo.accessStr.split(':').map(Number);
  if (raw.length > CORE_SPEC_MAX_LEN) throw fail(`more than ${CORE_SPEC_MAX_LEN} components`);
  if (!(relo.typeId > 0 && relo.typeId < btf.length)) throw fail(`type id out of range (last is ${btf.length - 1})`);
  const spec: CoreSpec = { btf, rootTypeId: relo.typeId, kind: relo.kind, raw, acc: [], bitOffset: 0 };
  if (isTypeBased(relo.kind)) {
    if (relo.accessStr !== '0') throw fail('type relocations take the access string "0"');
    return spec;
  }
  let id = btf.resolve(relo.typeId);
  let t = btf.typeById(id);
  const first = raw[0]!;
  if (isEnumvalBased(relo.kind)) {
    if (!isEnumKind(t.kind)) throw fail(`${t.kind} is not an enum`);
    const values = (t as BtfType & { kind: 'enum' | 'enum64' }).values;
    if (raw.length > 1 || first >= values.length) throw fail(`enumerator index ${first} out of range (${values.length} values)`);
    spec.acc.push({ typeId: id, idx: first, name: values[first]!.name });
    return spec;
  }
  if (!isFieldBased(relo.kind)) throw fail(`unknown relocation kind ${relo.kind}`);
  spec.acc.push({ typeId: id, idx: first });
  spec.bitOffset = first * sizeOf(btf, id, fail) * 8;
  for (let i = 1; i < raw.length; i++) {
    id = btf.resolve(id);
    t = btf.typeById(id);
    const idx = raw[i]!;
    if (isComposite(t.kind)) {
      const members = (t as Agg).members;
      if (idx >= members.length) throw fail(`member index ${idx} out of range: ${t.kind} ${t.name || '<anon>'} (type id ${id}) has ${members.length} members`);
      const m = members[idx]!;
      spec.bitOffset += m.bitOffset;
      if (m.name !== '') spec.acc.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === 'array') {
      const elem = btf.resolve(t.type);
      if (!isFlexArray(btf, spec.acc[spec.acc.length - 1], t) && idx >= t.nelems) {
        throw fail(`array index ${idx} out of range: array (type id ${id}) has ${t.nelems} elements`);
      }
      spec.acc.push({ typeId: elem, idx });
      spec.bitOffset += idx * sizeOf(btf, elem, fail) * 8;
      id = elem;
    } else {
      throw fail(`component ${i} (index ${idx}) reaches ${t.kind} (type id ${id}), which has no members or elements`);
    }
  }
  return spec;
}

function sizeOf(btf: Btf, id: number, fail: (why: string) => CoreError): number {
  try { return btf.sizeof(id); } catch (e) { throw fail(`type id ${id} has no size: ${(e as Error).message}`); }
}

/**
 * bpf_core_spec_match: the target spec of `local` in candidate `targId`, or undefined
 * when the candidate does not match.
 */
export function matchSpec(local: CoreSpec, target: Btf, targId: number): CoreSpec | undefined {
  const spec: CoreSpec = { btf: target, rootTypeId: targId, kind: local.kind, raw: [], acc: [], bitOffset: 0 };
  if (isTypeBased(local.kind)) {
    const ok = local.kind === BPF_CORE_TYPE_MATCHES
      ? typesMatch(local.btf, local.rootTypeId, target, targId)
      : typesAreCompat(local.btf, local.rootTypeId, target, targId);
    return ok ? spec : undefined;
  }
  if (isEnumvalBased(local.kind)) {
    const id = target.resolve(targId);
    const t = target.typeById(id);
    if (!isEnumKind(t.kind)) return undefined;
    const want = essentialName(local.acc[0]!.name!);
    const values = (t as BtfType & { kind: 'enum' | 'enum64' }).values;
    for (let i = 0; i < values.length; i++) {
      if (essentialName(values[i]!.name) === want) {
        spec.acc.push({ typeId: id, idx: i, name: values[i]!.name });
        spec.raw.push(i);
        return spec;
      }
    }
    return undefined;
  }
  let id = targId;
  for (let i = 0; i < local.acc.length; i++) {
    const la = local.acc[i]!;
    id = target.resolve(id);
    if (la.name !== undefined) {
      const next = matchMember(local.btf, la, target, id, spec, 0);
      if (next === undefined) return undefined;
      id = next;
      continue;
    }
    if (i > 0) {
      const t = target.typeById(id);
      if (t.kind !== 'array') return undefined;
      if (!isFlexArray(target, spec.acc[spec.acc.length - 1], t) && la.idx >= t.nelems) return undefined;
      id = target.resolve(t.type);
    }
    if (spec.raw.length >= CORE_SPEC_MAX_LEN) throw new CoreError(`CO-RE target spec deeper than ${CORE_SPEC_MAX_LEN} components`, { typeId: targId });
    spec.acc.push({ typeId: id, idx: la.idx });
    spec.raw.push(la.idx);
    let sz: number;
    try { sz = target.sizeof(id); } catch { return undefined; }
    spec.bitOffset += la.idx * sz * 8;
  }
  return spec;
}

/** bpf_core_match_member: find the local named member in target composite `targId` (through anonymous members). Returns the member's type id. */
function matchMember(local: Btf, la: CoreAccessor, target: Btf, targId: number, spec: CoreSpec, depth: number,
  walk = { guard: new TypeWalk(`CO-RE member '${la.name}'`), notIn: new Set<number>() }): number | undefined {
  if (depth > CORE_SPEC_MAX_LEN) throw new CoreError('anonymous member nesting too deep', { typeId: targId });
  const id = target.resolve(targId);
  // searched already without finding it (anonymous members shared by several parents)
  if (walk.notIn.has(id)) return undefined;
  const found = walk.guard.within(id, () => matchMemberIn(local, la, target, id, spec, depth, walk));
  if (found === undefined) walk.notIn.add(id);
  return found;
}

function matchMemberIn(local: Btf, la: CoreAccessor, target: Btf, id: number, spec: CoreSpec, depth: number,
  walk: { guard: TypeWalk; notIn: Set<number> }): number | undefined {
  const t = target.typeById(id);
  if (!isComposite(t.kind)) return undefined;
  const localMember = (local.typeById(la.typeId) as Agg).members[la.idx]!;
  const members = (t as Agg).members;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (spec.raw.length >= CORE_SPEC_MAX_LEN) throw new CoreError(`CO-RE target spec deeper than ${CORE_SPEC_MAX_LEN} components`, { typeId: id });
    const saveBits = spec.bitOffset, saveRaw = spec.raw.length, saveAcc = spec.acc.length;
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === '') {
      const found = matchMember(local, la, target, m.type, spec, depth + 1, walk);
      if (found !== undefined) return found;
    } else if (m.name === la.name) {
      if (!fieldsAreCompat(local, localMember.type, target, m.type)) return undefined;
      spec.acc.push({ typeId: id, idx: i, name: m.name });
      return m.type;
    }
    spec.bitOffset = saveBits;
    spec.raw.length = saveRaw;
    spec.acc.length = saveAcc;
  }
  return undefined;
}

/** C-like text of the access: `task_struct.pid`, `args[2]` on `bpf_raw_tracepoint_args`, `pid_type::PIDTYPE_TGID`. */
export function accessText(spec: CoreSpec): string {
  const root = spec.btf.typeById(spec.rootTypeId);
  const name = root.name || '<anon>';
  if (isTypeBased(spec.kind)) return `${root.kind} ${name}`;
  if (isEnumvalBased(spec.kind)) return `${name}::${spec.acc[0]?.name ?? '?'}`;
  let s = name;
  spec.acc.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  return s;
}

/** libbpf's bpf_core_format_spec: `[6] struct task_struct.pid (0:92 @ offset 2400)`. */
export function formatSpec(spec: CoreSpec): string {
  const root = spec.btf.typeById(spec.rootTypeId);
  const head = `[${spec.rootTypeId}] ${root.kind} ${root.name || '<anon>'}`;
  if (isTypeBased(spec.kind)) return head;
  if (isEnumvalBased(spec.kind)) {
    const a = spec.acc[0]!;
    const e = spec.btf.typeById(a.typeId) as BtfType & { kind: 'enum' | 'enum64' };
    return `${head}::${a.name} = ${e.values[a.idx]!.value}`;
  }
  let s = head;
  spec.acc.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const bits = spec.bitOffset % 8;
  return `${s} (${spec.raw.join(':')} @ offset ${Math.floor(spec.bitOffset / 8)}${bits ? `.${bits}` : ''})`;
}
