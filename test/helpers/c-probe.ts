// A small C program compiled with gcc and run, to read what the system headers say
// (offsetof, sizeof, constants). Returns its stdout; throws with gcc's errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const haveGcc = spawnSync('gcc', ['--version']).status === 0;

export function runCProbe(source: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-probe-'));
  try {
    writeFileSync(path.join(dir, 'p.c'), source);
    const cc = spawnSync('gcc', ['-o', path.join(dir, 'p'), path.join(dir, 'p.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`probe did not compile:\n${cc.stderr}`);
    return spawnSync(path.join(dir, 'p'), { encoding: 'utf8' }).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
