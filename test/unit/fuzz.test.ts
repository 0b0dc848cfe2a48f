// Bounded fuzz: random mutations of every fixture object. Nothing but a TsbpfError may
// escape loadCollectionSpec, it names the file and where in it (section, symbol, offset or
// type id), and no single parse may take a second. A spec that opens reads whole: every
// program's instructions and records, made on first read, come without an error.
//   FUZZ_SEED=n FUZZ_N=k to reproduce or extend a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec, TsbpfError } from '../../src/index.js';
import { mutate, rng } from '../helpers/mutate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const objs = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort()
  .map((f) => ({ name: f, bytes: readFileSync(path.join(root, 'bpf-objs', f)) }));

const N = Number(process.env.FUZZ_N ?? 30000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x7b9f2);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 60000);

test(`fuzz: ${N} mutations of ${objs.length} fixtures (seed ${SEED}) throw only TsbpfError naming the file and the place, each under 1 s`, () => {
  assert.ok(objs.length >= 10, 'fixtures present');
  const r = rng(SEED);
  const start = performance.now();
  let ok = 0, rejected = 0, slowest = 0, done = 0, unplaced = 0;
  const kinds = new Map<string, number>();
  for (; done < N; done++) {
    const obj = objs[done % objs.length]!;
    const bytes = mutate(obj.bytes, r);
    const t0 = performance.now();
    let spec: ReturnType<typeof loadCollectionSpec> | undefined;
    try {
      spec = loadCollectionSpec(bytes, { file: obj.name });
      ok++;
    } catch (e) {
      if (!(e instanceof TsbpfError)) {
        const dump = Buffer.from(bytes).toString('base64');
        throw new Error(`mutation #${done} of ${obj.name} escaped as ${(e as Error)?.name}: ${(e as Error)?.message}\nstack: ${(e as Error)?.stack}\nbytes(base64): ${dump.slice(0, 200)}...`);
      }
      assert.not.match(e.message, /internal error/, `mutation #${done} of ${obj.name}: ${e.message}\n${(e.cause as Error)?.stack}`);
      // the file always; a place in it (section, symbol, byte offset or BTF type id) unless the file is too short to have one
      assert.is(e.file, obj.name, `mutation #${done} of ${obj.name}: the error names the file: ${e.message}`);
      if (e.section === undefined && e.symbol === undefined && e.offset === undefined && e.typeId === undefined) {
        assert.match(e.message, /truncated ELF header/, `mutation #${done} of ${obj.name}: the error names no section, symbol, offset or type id: ${e.message}`);
        unplaced++;
      }
      rejected++;
      kinds.set(e.name, (kinds.get(e.name) ?? 0) + 1);
    }
    // open checked everything: what it left to first read (instructions, .BTF.ext records) reads without error
    for (const p of spec?.programs.values() ?? []) {
      try { void [p.instructions, p.funcInfo, p.lineInfo, p.coreRelos]; } catch (e) {
        throw new Error(`mutation #${done} of ${obj.name} opened, but reading program ${p.name} threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      }
    }
    let dt = performance.now() - t0;
    if (dt >= 1000) {
      // a slow path is slow every time; a pause of a loaded machine (GC, another process) is not
      const t1 = performance.now();
      try { loadCollectionSpec(bytes, { file: obj.name }); } catch { /* judged above */ }
      const again = performance.now() - t1;
      assert.ok(again < 1000, `mutation #${done} of ${obj.name} took ${dt.toFixed(0)} ms, and ${again.toFixed(0)} ms again`);
      console.log(`  (mutation #${done} of ${obj.name} took ${dt.toFixed(0)} ms once, ${again.toFixed(1)} ms again: the machine paused, not the parser)`);
      dt = again;
    }
    slowest = Math.max(slowest, dt);
    if (performance.now() - start > BUDGET_MS) break;
  }
  const secs = (performance.now() - start) / 1000;
  console.log(`  fuzz: ${done} mutations in ${secs.toFixed(1)} s: ${ok} still parse, ${rejected} rejected (${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}; every one names the file, all but ${unplaced} truncated headers a section, symbol, offset or type id); slowest ${slowest.toFixed(1)} ms`);
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
