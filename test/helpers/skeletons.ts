// Skeletons of the fixtures (tsbpf-gen), for the generator's tests: the three golden
// modules in test/skeleton/, and a TS literal of a decoded value for the type checks.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSkeleton, type GenType } from '../../src/gen/index.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const goldenDir = path.join(root, 'test', 'skeleton');

/** The fixtures with golden skeletons, and the --type each is generated with. */
export const GOLDEN: ReadonlyArray<{ name: string; types: GenType[] }> = [
  { name: 'map_types', types: [] },
  { name: 'global_data', types: [] },
  { name: 'tailcall_run', types: [] },
  { name: 'events', types: [{ type: 'struct event' }] },
];

/** The skeleton of bpf-objs/<name>.bpf.o as written to test/skeleton/<name>.skel.ts. */
export function goldenSkeleton(name: string, types: GenType[] = []): string {
  const file = path.join(root, 'bpf-objs', `${name}.bpf.o`);
  return generateSkeleton(readFileSync(file), { file: `${name}.bpf.o`, path: `../../bpf-objs/${name}.bpf.o`, types }).code;
}

/** A TypeScript expression of exactly the JS value (bigint `1n`, Buffer `Buffer.from([...])`). */
export function literal(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : !Number.isFinite(v) ? (v > 0 ? 'Infinity' : '-Infinity') : String(v);
  if (typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return `Buffer.from([${[...v].join(', ')}])`;
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  if (v && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${literal(x)}`).join(', ')} }`;
  throw new Error(`no literal for ${String(v)}`);
}

/** Deterministic bytes (xorshift), so that a failure reproduces. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
