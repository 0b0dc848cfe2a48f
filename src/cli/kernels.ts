/**
 * `--kernel 5.10,6.1 obj.o`: the CLI run inside other kernels. Each kernel boots in a qemu
 * VM through the runner shipped with the package (scripts/vm/run.mjs, `tsbpf-vm`), which
 * runs `node bin/load.js --json` there on the same files (the host's root is mounted
 * read-only in the guest, the working directory read-write); the documents are merged
 * into one table object x program x kernel -> verdict, one JSON document, or JUnit with
 * one test suite per kernel.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliOptions } from './args.js';
import { EnvironmentError } from './env.js';
import { xmlEscape } from './junit.js';

/** What one kernel said about the objects (the guest's --json document). */
export interface KernelRun {
  /** As given: a line (6.1) or a bzImage path. */
  kernel: string;
  /** uname -r in the guest, when it booted. */
  release?: string;
  /** The runner's exit status (the CLI's, or 124 timeout, 125 VM failure). */
  status: number | null;
  objects: Array<{ file: string; error?: string; programs: Array<{ name: string; verdict: string; error?: string; why?: unknown }> }>;
  /** Why there is no document (the VM failed, the output was not JSON). */
  error?: string;
  secs: number;
}

/**
 * The kernel lines the VM runner boots by name (5.10, 6.1...), from its own table
 * (scripts/vm/lines.json, shipped beside run.mjs), so `--kernel` and tsbpf-vm agree.
 */
export function kernelLines(root = packageRoot()): ReadonlySet<string> {
  const file = path.join(root, 'scripts', 'vm', 'lines.json');
  let rows: Array<{ line: string }>;
  try {
    rows = JSON.parse(readFileSync(file, 'utf8')) as Array<{ line: string }>;
  } catch (e) {
    throw new EnvironmentError(`${file}: the VM runner's kernel lines could not be read (${(e as Error).message}): the package is incomplete`);
  }
  return new Set(rows.map((r) => r.line));
}

/** How the runner is told which kernel to boot: `--kernel LINE` for a line it knows, else `--kernel-image PATH`. */
export function runnerKernelArgs(kernel: string, lines: ReadonlySet<string> = kernelLines()): string[] {
  return lines.has(kernel) ? ['--kernel', kernel] : ['--kernel-image', path.resolve(kernel)];
}

/** The package root: the directory above this module that holds scripts/vm/run.mjs (dist/cli or the bundle in dist). */
export function packageRoot(from = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(from);
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'scripts', 'vm', 'run.mjs'))) return dir;
    dir = path.dirname(dir);
  }
  throw new EnvironmentError(`the VM runner (scripts/vm/run.mjs) was not found above ${path.dirname(from)}: the package is incomplete`);
}

/** The options a guest run repeats (what decides how objects load, not where they go). */
export function guestArgs(o: CliOptions): string[] {
  const a: string[] = ['--json'];
  for (const s of o.set) a.push('--set', `${s.name}=${s.value}`);
  for (const t of o.types) a.push('--type', `${t.program}=${t.type}`);
  for (const p of o.only) a.push('--only', p);
  for (const m of o.create) a.push('--create', m);
  if (o.logLevel !== undefined) a.push('--log-level', String(o.logLevel));
  if (o.logDir !== undefined) a.push('--log', path.resolve(o.logDir));
  if (o.btf !== undefined) a.push('--btf', path.resolve(o.btf));
  return [...a, ...o.files.map((f) => path.resolve(f))];
}

const RELEASE_MARK = 'tsbpf-kernel-release: ';

/** The guest's output: its release line and the --json document (console noise around it ignored). */
export function parseGuestOutput(out: string): { release?: string; doc?: KernelRun['objects']; error?: string } {
  const rel = out.split('\n').find((l) => l.startsWith(RELEASE_MARK))?.slice(RELEASE_MARK.length).trim();
  const start = out.indexOf('{\n  "objects"');
  const end = out.lastIndexOf('\n}');
  if (start < 0 || end < start) return { ...(rel ? { release: rel } : {}), error: 'no JSON document in the guest\'s output' };
  try {
    const doc = JSON.parse(out.slice(start, end + 2)) as { objects: KernelRun['objects'] };
    return { ...(rel ? { release: rel } : {}), doc: doc.objects };
  } catch (e) {
    return { ...(rel ? { release: rel } : {}), error: `the guest's JSON did not parse: ${(e as Error).message}` };
  }
}

/** Boots `kernel` and runs the CLI there. */
function runOne(kernel: string, o: CliOptions, root: string, lines: ReadonlySet<string>, log: (s: string) => void): Promise<KernelRun> {
  const t0 = Date.now();
  const which = runnerKernelArgs(kernel, lines);
  const bin = path.join(root, 'bin', 'load.js');
  const script = `echo "${RELEASE_MARK}$(uname -r)"; exec "$@"`;
  const args = [path.join(root, 'scripts', 'vm', 'run.mjs'), ...which, '--quiet', '--timeout', '1800', '--dir', process.cwd(), '--',
    'sh', '-c', script, 'sh', process.execPath, bin, ...guestArgs(o)];
  log(`kernel ${kernel}: booting a VM and loading ${o.files.length} object(s) there (a minute or more without KVM)…`);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('error', (e) => resolve({ kernel, status: null, objects: [], error: e.message, secs: (Date.now() - t0) / 1000 }));
    p.on('exit', (status) => {
      const g = parseGuestOutput(out);
      const why = g.error ? `${g.error}${status !== 0 ? ` (runner exit ${status}: ${err.trim().split('\n').pop() ?? ''})` : ''}` : undefined;
      log(`kernel ${kernel}: ${g.release ?? 'no release'}, exit ${status} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      resolve({ kernel, ...(g.release ? { release: g.release } : {}), status, objects: g.doc ?? [], ...(why ? { error: why } : {}), secs: (Date.now() - t0) / 1000 });
    });
  });
}

/** Runs every kernel, one after the other (each VM takes the machine's cores). */
export async function runInKernels(o: CliOptions, log: (s: string) => void = (s) => process.stderr.write(`load: ${s}\n`)): Promise<KernelRun[]> {
  const root = packageRoot();
  const lines = kernelLines(root);
  const runs: KernelRun[] = [];
  for (const k of o.kernels) runs.push(await runOne(k, o, root, lines, log));
  return runs;
}

const name = (r: KernelRun) => r.release ?? r.kernel;

/** object x program x kernel -> verdict, with the reasons of refusals below. */
export function kernelTable(runs: KernelRun[]): string {
  const rows: Array<{ file: string; program?: string }> = [];
  const seen = new Set<string>();
  for (const r of runs) {
    for (const ob of r.objects) {
      if (!seen.has(ob.file)) { seen.add(ob.file); rows.push({ file: ob.file }); }
      for (const p of ob.programs) {
        const k = `${ob.file}\0${p.name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        let at = rows.length;
        while (at > 0 && rows[at - 1]!.file !== ob.file) at--;
        rows.splice(at, 0, { file: ob.file, program: p.name });
      }
    }
  }
  const notes: string[] = [];
  const cell = (r: KernelRun, file: string, program?: string): string => {
    if (r.error && !r.objects.length) return 'no result';
    const ob = r.objects.find((x) => x.file === file);
    if (!ob) return '-';
    if (!program) {
      if (!ob.error) return '';
      notes.push(`${name(r)}: ${file}: ${ob.error.split('\n')[0]}`);
      return `not loaded [${notes.length}]`;
    }
    const p = ob.programs.find((x) => x.name === program);
    if (!p) return '-';
    if (p.verdict === 'rejected' && p.error) { notes.push(`${name(r)}: ${program}: ${p.error.split('\n')[0]}`); return `rejected [${notes.length}]`; }
    return p.verdict;
  };
  const w0 = Math.max(24, ...rows.map((x) => (x.program ? x.program.length + 2 : x.file.length)));
  const cols = runs.map((r) => Math.max(name(r).length, 16));
  const out = [`${'object / program'.padEnd(w0)}  ${runs.map((r, i) => name(r).padEnd(cols[i]!)).join('  ')}`.trimEnd()];
  for (const x of rows) out.push(`${(x.program ? `  ${x.program}` : x.file).padEnd(w0)}  ${runs.map((r, i) => cell(r, x.file, x.program).padEnd(cols[i]!)).join('  ')}`.trimEnd());
  for (const r of runs) if (r.error) out.push(`${name(r)}: ${r.error}`);
  if (notes.length) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return `${out.join('\n')}\n`;
}

/** Whether every program of every object was accepted on every kernel. */
export function allAccepted(runs: KernelRun[]): boolean {
  return runs.every((r) => !r.error && r.status === 0 && r.objects.every((o) => !o.error && o.programs.every((p) => p.verdict !== 'rejected')));
}

/** JUnit XML: one test suite per kernel, one test case per object and program. */
export function junitByKernel(runs: KernelRun[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const progs = (r: KernelRun) => r.objects.flatMap((o) => o.programs.map((p) => ({ o, p })));
  const fails = (r: KernelRun) => progs(r).filter(({ o, p }) => p.verdict === 'rejected' || o.error).length + (r.error ? 1 : 0);
  const skips = (r: KernelRun) => progs(r).filter(({ o, p }) => p.verdict === 'skipped' && !o.error).length;
  const tests = (r: KernelRun) => progs(r).length + (r.error ? 1 : 0);
  out.push(`<testsuites name="tsbpf verifier by kernel" tests="${runs.reduce((n, r) => n + tests(r), 0)}" failures="${runs.reduce((n, r) => n + fails(r), 0)}" errors="0">`);
  for (const r of runs) {
    out.push(`  <testsuite name="${xmlEscape(name(r))}" tests="${tests(r)}" failures="${fails(r)}" skipped="${skips(r)}" errors="0" time="${r.secs.toFixed(3)}">`);
    if (r.error) out.push(`    <testcase classname="${xmlEscape(name(r))}" name="boot and load"><failure message="${xmlEscape(r.error)}"/></testcase>`);
    for (const { o, p } of progs(r)) {
      const head = `    <testcase classname="${xmlEscape(o.file)}" name="${xmlEscape(p.name)}"`;
      if (o.error) out.push(`${head}><failure type="load" message="${xmlEscape(o.error.split('\n')[0]!)}">${xmlEscape(o.error)}</failure></testcase>`);
      else if (p.verdict === 'rejected') out.push(`${head}><failure type="verifier" message="${xmlEscape((p.error ?? 'rejected').split('\n')[0]!)}">${xmlEscape(p.error ?? '')}</failure></testcase>`);
      else if (p.verdict === 'skipped') out.push(`${head}><skipped message="${xmlEscape(p.error ?? 'skipped')}"/></testcase>`);
      else out.push(`${head}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
