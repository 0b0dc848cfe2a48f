#!/usr/bin/env node
// npm run test:vm: the kernel test suite and a CLI acceptance run over every fixture inside
// VMs (scripts/vm-run), one VM per kernel, then a table kernel x (passed, failed, skipped).
// Exits 1 when anything failed or a VM did not report.
//   node scripts/vm/test-matrix.mjs [--kernels 5.10,6.1,6.12,7] [--smoke LIST] [--jobs N]
//                                   [--cpus N] [--only tests|cli] [--timeout S]
// --smoke LIST: these kernels run the smoke suite (the attach, events, feature, fixture and
// memlock kernel tests, and the CLI on every fixture) instead of every kernel test.
// --jobs N: VMs at the same time, --cpus N: vCPUs of each (defaults: MATRIX_DEFAULTS).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What `npm run test:vm` (and so .ci/run) runs: the four kernels of the matrix, Debian 11's
 * 5.10, Debian 12's 6.1 and 6.12 and sid's newest 7.x, every kernel test and the CLI on
 * every fixture on each (a fixture a kernel refuses is asserted refused as
 * bpf-objs/kernel-requirements.json says). A full run costs about 7 min of TCG per kernel
 * on an idle 2-core host; `--smoke LIST` gives some kernels only the smoke suite where time
 * is short (docs/vm.md). Two VMs at a time with one vCPU each: a TCG guest keeps about one
 * host core busy, and with one vCPU the guest kernel's code patching (static keys,
 * kprobes: int3 then the new bytes) cannot race another vCPU's translated code (with two,
 * 6.12 once died of an unexplained int3 in __schedule).
 */
export const MATRIX_DEFAULTS = { kernels: ['5.10', '6.1', '6.12', '7'], smoke: [], jobs: 2, cpus: 1, timeout: 3000 };

export function parseMatrixArgs(argv) {
  const o = { ...MATRIX_DEFAULTS, kernels: [...MATRIX_DEFAULTS.kernels], smoke: [...MATRIX_DEFAULTS.smoke], only: [] };
  const list = (v) => String(v ?? '').split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--kernels') o.kernels = list(argv[++i]);
    else if (a === '--smoke') o.smoke = list(argv[++i]);
    else if (a === '--jobs') o.jobs = Number(argv[++i]);
    else if (a === '--cpus') o.cpus = Number(argv[++i]);
    else if (a === '--only') o.only.push(String(argv[++i]));
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else throw new Error(`test-matrix: unknown argument ${a}`);
  }
  if (!o.kernels.length || !(o.timeout > 0) || !(Number.isInteger(o.jobs) && o.jobs > 0) || !(Number.isInteger(o.cpus) && o.cpus > 0)) throw new Error('test-matrix: --kernels LIST, --jobs N > 0, --cpus N > 0 and --timeout S > 0');
  return o;
}

/** The table printed at the end. rows: [{ line, kernel, status, secs, tests?, cli? }] */
export function formatTable(rows) {
  const cell = (t) => (t ? [t.passed, t.failed, t.skipped].map((n) => String(n).padStart(6)).join(' ') : '     -      -      -');
  const out = [
    `${'kernel'.padEnd(24)} ${'kernel tests'.padEnd(20)}   ${'CLI (programs)'.padEnd(20)}   time  tests`,
    `${''.padEnd(24)} ${'passed failed skipped'}  ${'passed failed skipped'}`,
  ];
  for (const r of rows) {
    const name = r.kernel ?? `${r.line} (no result: exit ${r.status})`;
    out.push(`${name.padEnd(24)} ${cell(r.tests)}  ${cell(r.cli)}   ${`${r.secs.toFixed(0)}s`.padStart(5)}  ${r.suite ?? '-'}`);
  }
  return out.join('\n');
}

/** Whether a row of the matrix fails: no result from the guest, a non-zero exit of the
 * guest suite, any failure, a kernel test run that crashed or ran nothing, a CLI run that
 * accepted nothing. `only`: the --only parts asked for (empty: all). */
export function rowFailed(r, only) {
  const want = (what) => only.length === 0 || only.includes(what);
  if (!r.kernel || r.status !== 0) return true;
  if (want('tests') && (!r.tests || r.tests.failed > 0 || r.tests.error || r.tests.passed === 0)) return true;
  if (want('cli') && (!r.cli || r.cli.failed > 0 || r.cli.passed === 0)) return true;
  return false;
}

function runKernel(line, o) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const suite = o.smoke.includes(line) ? ['smoke'] : [];
    const args = [path.join(root, 'scripts/vm/run.mjs'), '--kernel', line, '--cpus', String(o.cpus), '--timeout', String(o.timeout), '--', 'node', 'scripts/vm/guest-suite.mjs', ...suite, ...o.only];
    const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let result, buf = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (l.startsWith('TSBPF_MATRIX=')) { try { result = JSON.parse(l.slice('TSBPF_MATRIX='.length)); } catch { /* reported as no result */ } }
        else process.stdout.write(`[${line}] ${l}\n`);
      }
    });
    const stop = () => p.kill('SIGINT');
    process.once('SIGINT', stop);
    p.on('exit', (status) => {
      process.removeListener('SIGINT', stop);
      if (buf) process.stdout.write(`[${line}] ${buf}\n`);
      resolve({ line, status, secs: (Date.now() - t0) / 1000, ...(result ?? {}) });
    });
  });
}

async function main() {
  let o;
  try { o = parseMatrixArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); return 2; }
  const t0 = Date.now();
  const rows = new Array(o.kernels.length);
  // the full runs first (the longest), the smoke runs after; rows stay in --kernels order
  const queue = o.kernels.map((k, i) => i).sort((a, b) => Number(o.smoke.includes(o.kernels[a])) - Number(o.smoke.includes(o.kernels[b])));
  const worker = async () => { for (let i = queue.shift(); i !== undefined; i = queue.shift()) rows[i] = await runKernel(o.kernels[i], o); };
  await Promise.all(Array.from({ length: Math.min(o.jobs, o.kernels.length) }, worker));
  console.log(`\nmatrix: ${o.kernels.length} kernel(s), ${o.jobs} at a time, ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  console.log(`\n${formatTable(rows)}`);
  const rejected = rows.flatMap((r) => (r.cli?.rejected ?? []).map((x) => `${r.kernel}: ${x}`));
  if (rejected.length) console.log(`\nrejected or failed in the CLI run:\n  ${rejected.join('\n  ')}`);
  const errors = rows.filter((r) => r.tests?.error).map((r) => `${r.kernel}: kernel tests: ${r.tests.error}`);
  if (errors.length) console.log(`\n${errors.join('\n')}`);
  const failed = rows.filter((r) => rowFailed(r, o.only));
  if (failed.length) console.log(`\nfailed rows: ${failed.map((r) => r.kernel ?? r.line).join(', ')}`);
  return failed.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main().then((c) => process.exit(c));
