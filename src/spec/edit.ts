/** Editing a CollectionSpec before load: set a global variable, copy a spec. */
import { SpecError, TsbpfError } from '../errors.js';
import type { CollectionSpec, DataVariable, MapSpec } from './types.js';

export type VariableValue = number | bigint | boolean | string | Uint8Array;

/** Finds a global variable by name (optionally in one section), with its data map. */
export function findVariable(spec: CollectionSpec, name: string, section?: string): { map: MapSpec; variable: DataVariable } {
  const hits: Array<{ map: MapSpec; variable: DataVariable }> = [];
  for (const map of spec.maps.values()) {
    if (map.kind !== 'data' || (section !== undefined && map.section !== section)) continue;
    const v = map.variables?.get(name);
    if (v) hits.push({ map, variable: v });
  }
  if (hits.length === 0) {
    const known = [...spec.maps.values()].filter((m) => m.kind === 'data').flatMap((m) => [...(m.variables?.keys() ?? [])]);
    throw new SpecError(`no global variable '${name}'${section ? ` in ${section}` : ''} (known: ${known.join(', ') || 'none'})`, { file: spec.file, symbol: name });
  }
  if (hits.length > 1) {
    throw new SpecError(`variable '${name}' exists in ${hits.map((h) => h.map.section).join(' and ')}: name the section`, { file: spec.file, symbol: name });
  }
  return hits[0]!;
}

function encodeValue(value: VariableValue, size: number, where: string): Uint8Array {
  const out = new Uint8Array(size);
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new TsbpfError(`${where} is ${size} bytes, the value given is ${value.length}`);
    out.set(value);
    return out;
  }
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    if (b.length >= size) throw new TsbpfError(`${where} holds ${size - 1} characters and a NUL, the string given is ${b.length} bytes`);
    out.set(b);
    return out;
  }
  if (![1, 2, 4, 8].includes(size)) throw new TsbpfError(`${where} is ${size} bytes: give its value as a Uint8Array`);
  return intBytes(value, size, where);
}

/** Which integers fit: either signedness (variables, whose C type is not known), or one. */
export type IntRange = 'any' | 'signed' | 'unsigned';

/**
 * A little-endian integer of `size` bytes, for variables and map keys and values. `range`
 * says which values fit: 'unsigned' [0, 2^bits), 'signed' [-2^(bits-1), 2^(bits-1)), 'any'
 * the union of both. Throws TsbpfError naming `what` when the value is not an integer
 * (NaN, Infinity, 1.5), a number beyond 2^53 (not exact: pass a bigint), or does not fit.
 */
export function intBytes(value: number | bigint | boolean, size: number, what: string, range: IntRange = 'any'): Uint8Array {
  let n: bigint;
  if (typeof value === 'boolean') n = value ? 1n : 0n;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TsbpfError(`${what} is an integer; ${value} is not an integer`);
    if (!Number.isSafeInteger(value)) throw new TsbpfError(`${what}: ${value} is beyond 2^53, where numbers are not exact; pass a bigint`);
    n = BigInt(value);
  } else if (typeof value === 'bigint') n = value;
  else throw new TsbpfError(`${what}: expected a number, got ${typeof value}`);
  const bits = BigInt(size * 8);
  const lo = range === 'unsigned' ? 0n : -(1n << (bits - 1n));
  const hi = range === 'signed' ? 1n << (bits - 1n) : 1n << bits;
  if (n >= hi || n < lo) {
    const kind = range === 'any' ? '' : ` ${range}`;
    throw new TsbpfError(`${what} is a ${size}-byte${kind} integer; ${value} does not fit (${lo}..${hi - 1n})`);
  }
  const out = new Uint8Array(size);
  let u = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++) { out[i] = Number(u & 0xffn); u >>= 8n; }
  return out;
}

/**
 * Sets a global variable's initial value (a `volatile const` in .rodata, a .data or .bss
 * variable). Numbers are written little-endian in the variable's size.
 */
export function setVariable(spec: CollectionSpec, name: string, value: VariableValue, section?: string): void {
  const { map, variable } = findVariable(spec, name, section);
  if (variable.linkage === 'extern') throw new SpecError(`'${name}' is an extern (${map.section}); its value comes from the kernel at load time`, { file: spec.file, section: map.section, symbol: name });
  let bytes: Uint8Array;
  try {
    bytes = encodeValue(value, variable.size, `variable '${name}' (${map.section})`);
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
    throw new SpecError(e.detail, { file: spec.file, section: map.section, symbol: name }, { cause: e });
  }
  map.data!.set(bytes, variable.offset);
}

/** Reads a global variable's current initial bytes. */
export function getVariable(spec: CollectionSpec, name: string, section?: string): Uint8Array {
  const { map, variable } = findVariable(spec, name, section);
  return map.data!.slice(variable.offset, variable.offset + variable.size);
}

function copyMap(m: MapSpec): MapSpec {
  const c: MapSpec = { ...m };
  if (m.innerMap) c.innerMap = copyMap(m.innerMap);
  if (m.contents) c.contents = m.contents.map((x) => ({ ...x }));
  if (m.data) c.data = new Uint8Array(m.data); // copies (as Uint8Array.from, without iterating)
  if (m.variables) c.variables = new Map([...m.variables].map(([k, v]) => [k, { ...v }]));
  if (m.extra) c.extra = new Uint8Array(m.extra);
  if (m.structOps) c.structOps = { ...m.structOps, programs: m.structOps.programs.map((x) => ({ ...x })) };
  return c;
}

/** A deep copy: edit it without touching the original (the BTF is shared, read-only). */
export function copySpec(spec: CollectionSpec): CollectionSpec {
  return {
    ...spec,
    maps: new Map([...spec.maps].map(([k, m]) => [k, copyMap(m)])),
    programs: new Map([...spec.programs].map(([k, p]) => [k, {
      ...p,
      instructions: p.instructions.map((i) => ({ ...i, reference: i.reference ? { ...i.reference } : undefined })),
      subprograms: [...p.subprograms],
      funcInfo: p.funcInfo.map((x) => ({ ...x })),
      lineInfo: p.lineInfo.map((x) => ({ ...x })),
      coreRelos: p.coreRelos.map((x) => ({ ...x })),
      ...(p.structOps ? { structOps: { ...p.structOps } } : {}),
    }])),
    warnings: [...spec.warnings],
  };
}
