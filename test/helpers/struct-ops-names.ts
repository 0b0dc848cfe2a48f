// struct_ops maps register under the name in their value's `name` member, and that name is
// kernel-global (tcp_available_congestion_control): two test processes loading the same
// fixture at once (other helpers run the same suites on this kernel) collide, and the
// second gets EEXIST. Tests give every struct_ops map this run's name instead:
// 'tsbpf_cc' -> 't<pid in base 36>_cc', the same length or less (TCP_CA_NAME_MAX: 15
// characters and the NUL).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CollectionSpec, MapSpec } from '../../src/index.js';
import { loadCollectionSpec } from '../../src/index.js';

const RUN_PREFIX = `t${process.pid.toString(36)}`;

/** This run's name for a fixture's struct_ops name ('tsbpf_cc' -> 't2s1_cc'). */
export function runName(name: string): string {
  if (!name.startsWith('tsbpf')) throw new Error(`struct_ops name '${name}' does not start with tsbpf`);
  return RUN_PREFIX + name.slice('tsbpf'.length);
}

/** Where the `name` member (char[N]) of a struct_ops map's value is, in the object's layout. */
function nameField(spec: CollectionSpec, m: MapSpec): { offset: number; size: number } {
  const btf = spec.btf!;
  const t = btf.typeById(m.structOps!.typeId);
  const member = t.kind === 'struct' ? t.members.find((x) => x.name === 'name') : undefined;
  if (!member) throw new Error(`${m.name}: no 'name' member in its struct`);
  const arr = btf.typeById(member.type);
  if (arr.kind !== 'array') throw new Error(`${m.name}: 'name' is not an array`);
  return { offset: member.bitOffset / 8, size: arr.nelems };
}

/** Writes this run's name over the `name` member of `m`'s value, which starts at data[at]. */
function rename(spec: CollectionSpec, m: MapSpec, data: Uint8Array, at: number): void {
  const { offset, size } = nameField(spec, m);
  const field = data.subarray(at + offset, at + offset + size);
  const old = Buffer.from(field).toString('latin1').replace(/\0.*$/s, '');
  const now = runName(old);
  if (now.length >= size) throw new Error(`${m.name}: '${now}' does not fit in char[${size}]`);
  field.fill(0);
  field.set(Buffer.from(now, 'latin1'));
}

/** Gives every struct_ops map of `spec` this run's name (in place). */
export function uniqueStructOpsNames(spec: CollectionSpec): void {
  for (const m of spec.maps.values()) {
    if (m.type !== 'struct_ops' || !m.data) continue;
    m.data = Uint8Array.from(m.data);
    rename(spec, m, m.data, 0);
  }
}

/** The spec of a fixture with this run's struct_ops names. */
export function specWithRunNames(file: string): CollectionSpec {
  const spec = loadCollectionSpec(file);
  uniqueStructOpsNames(spec);
  return spec;
}

/**
 * A copy of the object `file` in `dir` whose struct_ops values carry this run's names, for
 * tests that hand a path to the CLI: each map's initial bytes are found in the file (the
 * section's contents) and the name patched there. Returns the copy's path.
 */
export function objectWithRunNames(file: string, dir: string): string {
  const bytes = readFileSync(file);
  const spec = loadCollectionSpec(file);
  for (const m of spec.maps.values()) {
    if (m.type !== 'struct_ops' || !m.data) continue;
    const at = bytes.indexOf(Buffer.from(m.data));
    if (at < 0 || bytes.indexOf(Buffer.from(m.data), at + 1) >= 0) throw new Error(`${file}: the initial value of '${m.name}' is not in the file exactly once`);
    rename(spec, m, bytes, at);
  }
  const out = path.join(dir, path.basename(file));
  writeFileSync(out, bytes);
  return out;
}
