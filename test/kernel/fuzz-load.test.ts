// Hostile objects all the way into the kernel: mutations of the fixtures that still parse
// (a changed instruction, map definition, BTF type, relocation...) are loaded with
// Collection.load. Each load either succeeds and closes, or fails with a TsbpfError naming
// the file; either way this process holds no new fd and no map, program or BTF object
// the loads created is still alive at the end.
//   TSBPF_FUZZ_LOAD=N loads (default 400), TSBPF_FUZZ_SEED=n to reproduce or extend a run.
// Maps are capped at 64 MiB (limits.maxMapBytes): a mutated max_entries must not make the
// shared machine's kernel allocate gigabytes. Objects with struct_ops maps are left out:
// registering one takes a kernel-global name, which other test runs use meanwhile.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, TsbpfError, type CollectionSpec } from '../../src/index.js';
import { ensureBpffs } from '../../src/sys/index.js';
import { created, waitGone, type KernelObject } from '../helpers/kernel-ids.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { fdCount } from '../helpers/leaks.js';
import { mutate, rng } from '../helpers/mutate.js';

const { test } = kernelSuite('fuzz-load');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const N = Number(process.env.TSBPF_FUZZ_LOAD ?? 400);
const SEED = Number(process.env.TSBPF_FUZZ_SEED ?? 0x51ab1e);
const MAX_MAP_BYTES = 64 * 2 ** 20;
const pinRoot = `/sys/fs/bpf/tsbpf-fuzz-load-${process.pid}`;

const hasStructOps = (s: CollectionSpec) => [...s.maps.values()].some((m) => m.type === 'struct_ops');
const objs = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort()
  .map((f) => ({ name: f, bytes: readFileSync(path.join(root, 'bpf-objs', f)) }))
  .filter((o) => !hasStructOps(loadCollectionSpec(o.bytes, { file: o.name })));

test(`fuzz through load: ${N} loads of mutated fixtures (seed ${SEED}) fail only with a TsbpfError naming the file, and leave no fd and no kernel object`, async () => {
  assert.ok(objs.length >= 10, 'fixtures present');
  ensureBpffs(pinRoot, { create: true });
  const opts = { pinRoot, limits: { maxMapBytes: MAX_MAP_BYTES } };
  // warm-up: what a first load opens for good (vmlinux BTF, kallsyms, feature probes' caches)
  for (const o of objs) {
    try { Collection.load(loadCollectionSpec(o.bytes, { file: o.name }), opts).close(); } catch { /* refused on this kernel: kernel-requirements.json */ }
  }
  const fds0 = fdCount();
  const r = rng(SEED);
  const made: KernelObject[] = [];
  const kinds = new Map<string, number>();
  let loads = 0, loaded = 0, tries = 0;
  const t0 = performance.now();
  while (loads < N) {
    tries++;
    const o = objs[tries % objs.length]!;
    let spec: CollectionSpec;
    try { spec = loadCollectionSpec(mutate(o.bytes, r), { file: o.name }); } catch { continue; } // the parse fuzz covers these
    if (hasStructOps(spec)) continue;
    loads++;
    const { result, error, objects } = created(() => Collection.load(spec, opts));
    made.push(...objects);
    if (result) { loaded++; result.unpin(true); result.close(); continue; }
    if (!(error instanceof TsbpfError)) {
      assert.unreachable(`load #${loads} (mutation of ${o.name}, seed ${SEED}, try ${tries}) escaped as ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`);
    }
    const e = error as TsbpfError;
    assert.is(e.file, o.name, `load #${loads}: the error names the file: ${e.message}`);
    assert.not.match(e.message, /internal error/, `load #${loads} of ${o.name}: ${e.message}`);
    const kind = e.reason ? `${e.name}(${e.reason})` : e.name;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const ms = performance.now() - t0;
  const fds1 = fdCount();
  const left = waitGone(made, 30_000);
  rmSync(pinRoot, { recursive: true, force: true });
  console.log(`  fuzz-load: ${loads} loads of mutated objects (${tries} mutations, ${tries - loads} refused by the parser) in ${(ms / 1000).toFixed(1)} s: ` +
    `${loaded} loaded and closed, ${loads - loaded} refused (${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
    `fds ${fds0} -> ${fds1}; ${made.length} kernel objects created, ${left.length} still alive`);
  assert.is(fds1, fds0, 'no fd of this process left open');
  assert.equal(left, [], 'every map, program and BTF object the loads created is gone');
});

uvuTest.run();
