// The fixture refusals of bpf-objs/kernel-requirements.json (the one table: fixture ->
// first kernel that takes it) for the kernel tests that load fixtures for another
// purpose: on a kernel the table says refuses a fixture, such a test asserts exactly that
// refusal (typed fields, as test/kernel/fixtures.test.ts and the VM matrix's CLI tally do)
// and goes on with what this kernel does take, instead of failing or skipping.
import * as assert from 'uvu/assert';
import os from 'node:os';
import path from 'node:path';
import { describe, expectationsFor, loadRequirements, matchesRefusal } from '../../scripts/vm/requirements.mjs';
import { MissingFeatureError, TsbpfError, VerifierError, type CollectionSpec } from '../../src/index.js';

const reqs = loadRequirements();
const release = os.release();

export interface Requirement {
  object: string;
  program?: string;
  since?: string;
  missing?: { kind: string; feature: string };
  reason?: string;
  verifier?: string;
  why: string;
}

/** The requirement by which this kernel refuses `object` as a whole, or undefined. */
export function objectRefusal(object: string): Requirement | undefined {
  return expectationsFor(reqs, path.basename(object), release).object as Requirement | undefined;
}

/** The requirement by which this kernel refuses `program` of `object`, or undefined. */
export function programRefusal(object: string, program: string): Requirement | undefined {
  return expectationsFor(reqs, path.basename(object), release).programs.get(program) as Requirement | undefined;
}

/** `names` without the programs of `object` this kernel refuses by the table. */
export function acceptedHere(object: string, names: readonly string[]): string[] {
  return names.filter((n) => !programRefusal(object, n));
}

/** The typed part of an error, as requirements.mjs's matchesRefusal reads it. */
export function refusalOf(e: unknown): { why?: { missing?: { kind: string; feature: string }; reason?: string }; error?: string; tail?: string[] } {
  if (e instanceof MissingFeatureError) return { why: { missing: { kind: e.kind, feature: e.feature }, reason: e.reason }, error: e.message };
  const v = e instanceof VerifierError ? e : e instanceof TsbpfError && e.cause instanceof VerifierError ? e.cause : undefined;
  if (e instanceof TsbpfError) return { why: { reason: e.reason }, error: e.message, ...(v ? { tail: v.tail(8) } : {}) };
  return { error: String((e as Error)?.message ?? e) };
}

/** Asserts that `fn` throws exactly the refusal `r` describes; says so in the output. */
export function assertRefusal(fn: () => unknown, r: Requirement, what = ''): void {
  let thrown: unknown;
  try { fn(); } catch (e) { thrown = e; }
  assert.ok(thrown !== undefined, `${what}accepted, but the requirements say ${describe(r)}`);
  assert.ok(matchesRefusal(r, refusalOf(thrown)), `${what}refused for another reason than ${describe(r)}: ${(thrown as Error)?.message ?? thrown}`);
  console.log(`  (${what}${describe(r)}: ${r.why})`);
}

/**
 * For an object the table says this kernel refuses because it lacks a map type
 * (map_types.bpf.o's bloom filter before 5.16): the spec without the maps of that type and
 * the programs that use them (autocreate / autoload off), for tests that load it for its
 * other maps. With `load` (Collection.load with the test's options), asserts the refusal
 * of the whole object first. Unchanged on kernels that take the object.
 */
export function withoutMissingMaps(spec: CollectionSpec, object: string, load?: (s: CollectionSpec) => { close(): void }): CollectionSpec {
  const r = objectRefusal(object);
  if (!r) return spec;
  assert.ok(r.missing?.kind === 'map-type', `${describe(r)}: not a missing map type, which this helper can leave out`);
  if (load) assertRefusal(() => load(spec).close(), r, `${path.basename(object)}: `);
  const off = new Set([...spec.maps.values()].filter((m) => m.type === r.missing!.feature).map((m) => m.name));
  assert.ok(off.size > 0, `${describe(r)}: no ${r.missing!.feature} map in the object`);
  for (const name of off) spec.maps.get(name)!.autocreate = false;
  for (const p of spec.programs.values()) {
    if (p.instructions.some((i) => i.reference?.kind === 'map' && off.has(i.reference.name))) p.autoload = false;
  }
  return spec;
}
