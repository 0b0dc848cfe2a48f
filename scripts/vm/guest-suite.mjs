#!/usr/bin/env node
// Runs INSIDE a VM (scripts/vm/test-matrix.mjs starts it through scripts/vm-run): the
// kernel test suite (`node scripts/run-tests.mjs test/kernel`, CI=true so nothing skips for
// lack of root; with the argument `smoke` only SMOKE_TESTS) and a CLI acceptance run (`node
// bin/load.js --json` on every fixture). Prints one result line at the end:
//   TSBPF_MATRIX={"kernel":..., "suite":"full"|"smoke", "tests":{passed,failed,skipped}, "cli":{passed,failed,skipped,rejected:[...]}}
// and exits 1 when something failed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expectationsFor, loadRequirements, matchesRefusal, refusedOn } from './requirements.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kernel = process.env.TSBPF_VM || os.release();
const args = process.argv.slice(2);
/** `smoke`: the kernel tests of attach, events, features, fixtures and memlock only (the
 * matrix runs it on the kernels it does not test in full, to stay within CI's time). */
const smoke = args.includes('smoke');
const parts = args.filter((a) => a !== 'smoke');
const only = (what) => !parts.length || parts.includes(what);

/** The kernel test files of the smoke run: what depends most on the kernel release. */
export const SMOKE_TESTS = '^(attach-[a-z-]+|sys-attach|cli-attach|events|events-uretprobe|cli-events|user-ringbuf|features|fixtures|memlock)\\.test\\.ts$';

/** `N passed, N failed, N skipped` of scripts/run-tests.mjs. */
export function parseSummary(text) {
  const all = [...text.matchAll(/^(\d+) passed, (\d+) failed, (\d+) skipped$/gm)];
  const m = all[all.length - 1];
  return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3]) } : undefined;
}

/**
 * The kernel-test tally of one guest run from run-tests' output and exit: a run that died
 * (no closing line, a signal, a non-zero exit with nothing failed) or ran no test counts
 * one failure with the reason in `error`. run-tests prints its closing line even when uvu
 * crashed before its own summary ("0 passed, 0 failed, 0 skipped", exit 1): that is not a
 * pass.
 */
export function testsResult(stdout, status, signal) {
  const s = parseSummary(stdout);
  const how = signal ? `killed by ${signal}` : `exit ${status}`;
  if (!s) return { passed: 0, failed: 1, skipped: 0, error: `run-tests printed no summary (${how})` };
  if (signal || status !== 0) {
    if (s.failed > 0) return s;
    const crash = /^run-tests: (.*)$/m.exec(stdout)?.[1];
    return { ...s, failed: 1, error: `run-tests ${how} with no failed test${crash ? `: ${crash}` : ''}` };
  }
  if (s.passed + s.failed === 0) return { ...s, failed: 1, error: 'no test ran' };
  return s;
}

/**
 * Tally of `bin/load.js --json` output for one object (verdict per program), against the
 * fixtures' kernel requirements (bpf-objs/kernel-requirements.json): a refusal the list
 * expects on this kernel, with exactly its reason, passes (and is listed in `expected`);
 * any other refusal, an acceptance the list says this kernel cannot give, or an object
 * that did not load fails. Programs of an object that did not load are not counted.
 */
export function tallyCli(file, status, stdout, stderr, { release = kernel, reqs = [] } = {}) {
  const t = { passed: 0, failed: 0, skipped: 0, rejected: [], expected: [] };
  let doc;
  try { doc = JSON.parse(stdout); } catch { /* below */ }
  if (!doc || !Array.isArray(doc.objects)) {
    t.failed++;
    t.rejected.push(`${file}: exit ${status}: ${(stderr || stdout).trim().split('\n')[0] ?? ''}`);
    return t;
  }
  const first = (s) => String(s ?? '').split('\n')[0];
  for (const o of doc.objects) {
    const exp = expectationsFor(reqs, o.file ?? file, release);
    if (o.error) {
      if (exp.object && matchesRefusal(exp.object, { why: o.errorWhy, error: o.error })) { t.passed++; t.expected.push(`${file}: ${first(o.error)}`); }
      else { t.failed++; t.rejected.push(`${file}: ${first(o.error)}${exp.object ? ` (expected: ${describe(exp.object)})` : ''}`); }
      continue;
    }
    if (exp.object) { t.failed++; t.rejected.push(`${file}: loaded, but the requirements say ${describe(exp.object)}`); }
    for (const p of o.programs ?? []) {
      const r = exp.programs.get(p.name);
      if (p.verdict === 'accepted' || p.verdict === 'skipped') {
        if (r) { t.failed++; t.rejected.push(`${file} ${p.name}: ${p.verdict}, but the requirements say ${describe(r)}`); }
        else if (p.verdict === 'accepted') t.passed++;
        else t.skipped++;
      } else if (r && matchesRefusal(r, p)) {
        t.passed++;
        t.expected.push(`${file} ${p.name}: ${first(p.error)}`);
      } else {
        t.failed++;
        t.rejected.push(`${file} ${p.name}: ${first(p.error ?? p.verdict)}${r ? ` (expected: ${describe(r)})` : ''}`);
      }
    }
  }
  return t;
}

/**
 * The modules whose BTF must hold the tests' kernel symbols on `release`
 * (test/kernel/btf-targets.test.ts, TSBPF_EXPECT_MODULES): nf_conntrack for its kfuncs and
 * x_tables for its per-CPU xt_recseq, where the fixtures' requirements say the kernel has
 * them (kfuncs.bpf.o ct_lookup, ksyms.bpf.o ksym_module); 'none' on a kernel with neither
 * (5.10: no kfuncs of nf_conntrack, no module VARs).
 */
export function expectedModules(release, reqs) {
  const has = (object, program) => { const r = reqs.find((x) => x.object === object && x.program === program); return !r || !refusedOn(r, release); };
  const mods = [...(has('kfuncs.bpf.o', 'ct_lookup') ? ['nf_conntrack'] : []), ...(has('ksyms.bpf.o', 'ksym_module') ? ['x_tables'] : [])];
  return mods.length ? mods.join(',') : 'none';
}

function main() {
  const result = { kernel, suite: smoke ? 'smoke' : 'full', tests: undefined, cli: undefined };
  // Debian's kernels build these as modules and the initramfs loads them (optional modules):
  // the kernel tests must then resolve kfuncs / ksyms / fentry targets through module BTF.
  const env = { ...process.env, CI: 'true', FORCE_COLOR: '0', TSBPF_EXPECT_MODULES: expectedModules(kernel, loadRequirements()) };
  if (only('tests')) {
    const testArgs = [...(smoke ? ['--match', SMOKE_TESTS] : []), 'test/kernel'];
    console.log(`## ${kernel}: node scripts/run-tests.mjs ${testArgs.join(' ')}`);
    const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...testArgs], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
    process.stdout.write(r.stdout ?? '');
    process.stdout.write(r.stderr ?? '');
    // run-tests' own complaints go to stderr: give testsResult both
    result.tests = testsResult(`${r.stdout ?? ''}\n${r.stderr ?? ''}`, r.status, r.signal);
    if (result.tests.error) console.log(`## ${kernel}: kernel tests FAILED: ${result.tests.error}`);
  }
  if (only('cli')) {
    console.log(`## ${kernel}: node bin/load.js --json on every fixture`);
    const cli = { passed: 0, failed: 0, skipped: 0, rejected: [], expected: [] };
    const reqs = loadRequirements();
    const objs = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).sort().map((f) => `bpf-objs/${f}`);
    const load = (files) => spawnSync(process.execPath, ['bin/load.js', '--json', ...files], { cwd: root, env, encoding: 'utf8', maxBuffer: 256 << 20 });
    // One process for all objects (node starts slowly under TCG); one per object when that
    // run gave no JSON document, so that one bad object cannot hide the others.
    const all = load(objs);
    let perObject;
    try { perObject = new Map(JSON.parse(all.stdout).objects.map((o) => [o.file, JSON.stringify({ objects: [o] })])); } catch { perObject = undefined; }
    for (const file of objs) {
      const r = perObject?.has(file) ? { status: all.status, stdout: perObject.get(file), stderr: '' } : load([file]);
      const t = tallyCli(file, r.status, r.stdout, r.stderr, { release: kernel, reqs });
      console.log(`${file}: ${t.passed} as required (${t.expected.length} refused as expected), ${t.failed} failed, ${t.skipped} skipped${t.rejected.length ? `\n  ${t.rejected.join('\n  ')}` : ''}${t.expected.length ? `\n  refused as expected: ${t.expected.join('\n  refused as expected: ')}` : ''}`);
      cli.passed += t.passed; cli.failed += t.failed; cli.skipped += t.skipped; cli.rejected.push(...t.rejected); cli.expected.push(...t.expected);
    }
    result.cli = cli;
  }
  console.log(`TSBPF_MATRIX=${JSON.stringify(result)}`);
  return (result.tests?.failed ?? 0) + (result.cli?.failed ?? 0) > 0 || (result.cli && result.cli.passed === 0) ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main());
