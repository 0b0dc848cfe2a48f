// The gate of every kernel test file: run as root, and always under CI=true (where a
// skip would hide a broken environment); otherwise skip with the reason printed.
import { readdirSync, readFileSync } from 'node:fs';
import { test as uvuTest } from 'uvu';

/** Whether this process may call bpf(2) for the kernel tests, and uvu's `test` or `test.skip` to match. */
export function kernelSuite(name: string, needs = 'root (bpf(2) needs root or CAP_BPF)'): { run: boolean; test: typeof uvuTest | typeof uvuTest.skip } {
  const run = process.getuid?.() === 0 || process.env.CI === 'true';
  if (!run) console.log(`# ${name} (kernel): SKIPPED: not ${needs}; CI=true forces these tests to run`);
  return { run, test: run ? uvuTest : uvuTest.skip };
}

/**
 * Ids of the BPF programs (or maps) this process holds an fd of, from /proc/self/fdinfo.
 * Other processes load programs at the same time (the machine is shared): a test that
 * checks "nothing left behind" compares these, never every id in the kernel.
 */
export function ownIds(kind: 'prog' | 'map'): number[] {
  const key = `${kind}_id:`;
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let text: string;
    try { text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'); } catch { continue; } // closed meanwhile
    const line = text.split('\n').find((l) => l.startsWith(key));
    if (line) out.push(Number(line.slice(key.length).trim()));
  }
  return [...new Set(out)].sort((a, b) => a - b);
}
