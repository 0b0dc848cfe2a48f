// Every fixture on the running kernel, as the CLI loads it (each program that autoloads,
// a refused one left out and the rest loaded again): each program is accepted, or refused
// with exactly the reason bpf-objs/kernel-requirements.json gives for this kernel's
// release; an object the list says this kernel refuses must fail with that reason. On
// the host and on every kernel of the VM matrix (5.10, 6.1, 6.12, sid's 7.x).
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli/args.js';
import { loadObject } from '../../src/cli/run.js';
import { ensureBpffs, loadCollectionSpec, loadsByDefault } from '../../src/index.js';
import { describe, expectationsFor, loadRequirements, matchesRefusal } from '../../scripts/vm/requirements.mjs';
import { kallsymsHas, kernelFuncHome, trampolineProbe } from '../helpers/kernel-probes.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { uniqueStructOpsNames } from '../helpers/struct-ops-names.js';
import type { ProgramResult } from '../../src/cli/result.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { run, test } = kernelSuite('fixtures');
const release = os.release();
const reqs = loadRequirements();
const objects = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort();
// maps pinned by name go to a directory of this run (other test runs share the machine)
const pinRoot = `/sys/fs/bpf/tsbpf-fixtures-${process.pid}`;
uvu.before(() => { if (run) ensureBpffs(pinRoot, { create: true }); });
uvu.after(() => { if (run) rmSync(pinRoot, { recursive: true, force: true }); });

/**
 * Refusals that come from how this machine is set up, not from the kernel release (the
 * release-based ones are all in bpf-objs/kernel-requirements.json): decided by probing
 * the kernel. Returns why, and whether the refusal is that one.
 */
function environmentRefusal(file: string, program: string): { why: string; matches(p: ProgramResult): boolean } | undefined {
  const reason = (r: string) => (p: ProgramResult) => p.why?.reason === r;
  if (file === 'ksyms.bpf.o' && program === 'ksym_rawtp' && !kallsymsHas('runqueues')) {
    return { why: 'per-CPU ksym runqueues is not in /proc/kallsyms (kernel without CONFIG_KALLSYMS_ALL)', matches: (p) => /runqueues/.test(p.error ?? '') };
  }
  if (file === 'ksyms.bpf.o' && program === 'ksym_module') {
    const home = kernelFuncHome('xt_recseq', 'var');
    if (!home) return { why: 'no xt_recseq in the kernel\'s BTF (x_tables not loaded)', matches: reason('ksym-missing') };
    if (home === 'vmlinux' && !kallsymsHas('xt_recseq')) return { why: 'xt_recseq is built in here and not in /proc/kallsyms', matches: (p) => /xt_recseq/.test(p.error ?? '') };
  }
  if (file === 'kfuncs.bpf.o') {
    if (!kernelFuncHome('bpf_xdp_ct_lookup')) return { why: 'no bpf_xdp_ct_lookup in the kernel\'s BTF (nf_conntrack not loaded)', matches: reason(program === 'ct_lookup' ? 'kfunc-missing' : 'attach-target-missing') };
    if (program === 'on_ct_lookup' && !trampolineProbe().ok) return { why: `the kernel refuses BPF trampolines (${trampolineProbe().why})`, matches: reason('trampoline-refused') };
  }
  return undefined;
}

for (const file of objects) {
  const exp = expectationsFor(reqs, file, release);
  const expected = [exp.object, ...exp.programs.values()].filter((r) => r !== undefined).map((r) => describe(r!));
  test(`${file} on ${release}: ${expected.length ? `refused as listed (${expected.join('; ')}), the rest accepted` : 'every program accepted'}`, () => {
    const rel = path.join('bpf-objs', file);
    const spec = loadCollectionSpec(path.join(root, rel));
    // struct_ops congestion control names are kernel-global: this run's own (other test runs load struct_ops.bpf.o too)
    uniqueStructOpsNames(spec);
    const loaded = loadObject(spec, parseArgs([rel]), undefined, pinRoot);
    try {
      const r = loaded.result;
      if (exp.object) {
        assert.ok(r.error !== undefined, `${file} loaded, but the requirements say ${describe(exp.object)}`);
        assert.ok(matchesRefusal(exp.object, { why: r.errorWhy, error: r.error }), `${file}: refused for another reason than ${describe(exp.object)}: ${r.error} ${JSON.stringify(r.errorWhy ?? {})}`);
        return;
      }
      assert.is(r.error, undefined, `${file} did not load: ${r.error}`);
      let decided = 0; // programs accepted or refused as expected

      for (const p of r.programs) {
        const want = exp.programs.get(p.name);
        if (want) {
          assert.is(p.verdict, 'rejected', `${file} ${p.name}: ${p.verdict}, but the requirements say ${describe(want)}`);
          assert.ok(matchesRefusal(want, { why: p.why, error: p.error, tail: p.rejection?.tail }), `${file} ${p.name}: refused for another reason than ${describe(want)}: ${p.error} ${JSON.stringify(p.why ?? {})}`);
          decided++;
          continue;
        }
        const env = environmentRefusal(file, p.name);
        if (env) {
          assert.is(p.verdict, 'rejected', `${file} ${p.name}: ${p.verdict}, although ${env.why}`);
          assert.ok(env.matches(p), `${file} ${p.name}: refused, but not because ${env.why}: ${p.error}`);
          console.log(`  (${file} ${p.name}: refused here as expected: ${env.why})`);
          decided++;
          continue;
        }
        assert.ok(p.verdict !== 'rejected', `${file} ${p.name} rejected: ${p.error}`);
        if (p.verdict === 'accepted') decided++;
      }
      // what the kernel has: every accepted program with an id and its type, the maps created
      const c = loaded.collection!;
      const accepted = r.programs.filter((p) => p.verdict === 'accepted').map((p) => p.name).sort();
      const asked = [...spec.programs.keys()].filter((n) => loadsByDefault(spec, n)).sort();
      assert.equal(accepted, asked.filter((n) => !exp.programs.has(n) && !environmentRefusal(file, n)), `${file}: the programs that load by default`);
      for (const n of accepted) {
        const info = c.programs.get(n)!.info();
        assert.ok(info.id > 0 && info.xlatedProgLen > 0, `${file} ${n}: the kernel has it`);
        assert.is(info.typeName, c.programs.get(n)!.type, `${file} ${n}: type`);
      }
      assert.equal([...c.maps.keys()].sort(), [...spec.maps.values()].filter((m) => m.autocreate).map((m) => m.name).sort(), `${file}: maps`);
      // an object whose programs all wait to be asked for ('?' sections, struct_ops maps off) loads none by default
      assert.ok(decided > 0 || r.programs.every((p) => p.verdict === 'skipped'), `${file}: nothing was accepted or refused as listed`);
    } finally {
      loaded.close();
    }
  });
}

uvu.run();
