// Bounded fuzz: random mutations of every fixture object. Nothing but a TsbpfError may
// escape loadCollectionSpec, and no single parse may take a second.
//   FUZZ_SEED=n FUZZ_N=k to reproduce or extend a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec, TsbpfError } from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const objs = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort()
  .map((f) => ({ name: f, bytes: readFileSync(path.join(root, 'bpf-objs', f)) }));

const N = Number(process.env.FUZZ_N ?? 30000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x7b9f2);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 60000);

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

const INTERESTING = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = Uint8Array.from(src);
  const edits = 1 + Math.floor(r() * 6);
  // section header table: where the structural damage is interesting
  const dv = new DataView(b.buffer);
  const shoff = b.length >= 64 ? Number(dv.getBigUint64(40, true)) : 0;
  for (let e = 0; e < edits; e++) {
    const how = r();
    const hot = r() < 0.4 && shoff > 0 && shoff < b.length ? shoff + Math.floor(r() * (b.length - shoff)) : Math.floor(r() * b.length);
    const at = Math.min(hot, b.length - 1);
    if (how < 0.4) b[at] = Math.floor(r() * 256);
    else if (how < 0.6) b[at]! ^= 1 << Math.floor(r() * 8);
    else if (how < 0.85 && at + 4 <= b.length) new DataView(b.buffer).setUint32(at - (at % 4), INTERESTING[Math.floor(r() * INTERESTING.length)]!, true);
    else if (how < 0.95) b = b.slice(0, Math.floor(r() * b.length));
    else if (at + 8 <= b.length) b.copyWithin(at, Math.floor(r() * (b.length - 8)), Math.floor(r() * (b.length - 8)) + 8);
    if (b.length === 0) break;
  }
  return b;
}

test(`fuzz: ${N} mutations of ${objs.length} fixtures (seed ${SEED}) throw only TsbpfError, each under 1 s`, () => {
  assert.ok(objs.length >= 10, 'fixtures present');
  const r = rng(SEED);
  const start = performance.now();
  let ok = 0, rejected = 0, slowest = 0, done = 0;
  const kinds = new Map<string, number>();
  for (; done < N; done++) {
    const obj = objs[done % objs.length]!;
    const bytes = mutate(obj.bytes, r);
    const t0 = performance.now();
    try {
      loadCollectionSpec(bytes, { file: obj.name });
      ok++;
    } catch (e) {
      if (!(e instanceof TsbpfError)) {
        const dump = Buffer.from(bytes).toString('base64');
        throw new Error(`mutation #${done} of ${obj.name} escaped as ${(e as Error)?.name}: ${(e as Error)?.message}\nstack: ${(e as Error)?.stack}\nbytes(base64): ${dump.slice(0, 200)}...`);
      }
      assert.not.match(e.message, /internal error/, `mutation #${done} of ${obj.name}: ${e.message}\n${(e.cause as Error)?.stack}`);
      rejected++;
      kinds.set(e.name, (kinds.get(e.name) ?? 0) + 1);
    }
    const dt = performance.now() - t0;
    slowest = Math.max(slowest, dt);
    assert.ok(dt < 1000, `mutation #${done} of ${obj.name} took ${dt.toFixed(0)} ms`);
    if (performance.now() - start > BUDGET_MS) break;
  }
  const secs = (performance.now() - start) / 1000;
  console.log(`  fuzz: ${done} mutations in ${secs.toFixed(1)} s: ${ok} still parse, ${rejected} rejected (${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}); slowest ${slowest.toFixed(1)} ms`);
  assert.ok(done >= N, `only ${done} of ${N} mutations ran within the ${BUDGET_MS} ms budget`);
});

/**
 * Mutations the fuzzer once found escaping as internal errors: byte patches against a
 * fixture (whose sha256 is recorded: a rebuilt fixture would move the patched bytes) and
 * the error each must give now.
 */
const REGRESSIONS = JSON.parse(readFileSync(path.join(root, 'test/data/fuzz-regressions.json'), 'utf8')) as
  Array<{ fixture: string; sha256: string; why: string; expect: string; length: number; patches: Array<[number, string]> }>;

for (const r of REGRESSIONS) {
  test(`fuzz regression: ${r.fixture}, ${r.why}: refused with a TsbpfError naming the problem`, () => {
    const orig = readFileSync(path.join(root, 'bpf-objs', r.fixture));
    assert.is(createHash('sha256').update(orig).digest('hex'), r.sha256, `${r.fixture} was rebuilt: regenerate this regression (FUZZ_SEED / mutation index in the commit that added it)`);
    const b = Uint8Array.from(orig).slice(0, r.length);
    for (const [at, hex] of r.patches) b.set(Buffer.from(hex, 'hex'), at);
    assert.throws(() => loadCollectionSpec(b, { file: r.fixture }), (e: Error) => e instanceof TsbpfError && new RegExp(r.expect).test(e.message) && !/internal error/.test(e.message));
  });
}

test.run();
