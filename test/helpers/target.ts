// The process the attach tests probe: test/fixtures/attach_target.c, built with gcc once per
// source version into node_modules/.cache (shared with the VM runs, which mount the project).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(root, 'test/fixtures/attach_target.c');

let built: string | undefined;

/** The built target binary (gcc -O1 -g: .symtab kept, tsbpf_target_add not inlined). */
export function targetBinary(): string {
  if (built) return built;
  const src = readFileSync(SRC);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const dir = path.join(root, 'node_modules/.cache/tsbpf-test');
  const bin = path.join(dir, `attach_target-${hash}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    const r = spawnSync('gcc', ['-O1', '-g', '-o', tmp, SRC], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc ${SRC} failed: ${r.error?.message ?? r.stderr}`);
    renameSync(tmp, bin);
  }
  return (built = bin);
}

export interface Target {
  pid: number;
  /** Lets it run (one line on stdin) and waits for it to exit; resolves with its stdout. */
  go(): Promise<string>;
  /** Kills it if it still runs and waits until its pipes are closed. */
  kill(): Promise<void>;
}

/** Starts the target waiting on stdin: it makes `n` calls / getppid / openat after go() (under an allow-all seccomp filter with `seccomp`). */
export function startTarget(n: number, spinMs = 0, opts: { seccomp?: boolean } = {}): Target {
  const p = spawn(targetBinary(), [String(n), String(spinMs), ...(opts.seccomp ? ['seccomp'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  p.stdout!.on('data', (d) => { out += d; });
  let closed = false;
  const exited = new Promise<string>((resolve, reject) => {
    p.on('close', () => { closed = true; });
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`attach_target exited ${code}`))));
    p.on('error', reject);
  });
  exited.catch(() => { /* killed without go(): nobody waits */ });
  return {
    pid: p.pid!,
    go: () => { p.stdin!.end('go\n'); return exited; },
    kill: async () => {
      if (closed) return;
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}
