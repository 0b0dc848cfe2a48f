// The gate of every kernel test file: run as root, and always under CI=true (where a
// skip would hide a broken environment); otherwise skip with the reason printed.
import { test as uvuTest } from 'uvu';

/** Whether this process may call bpf(2) for the kernel tests, and uvu's `test` or `test.skip` to match. */
export function kernelSuite(name: string, needs = 'root (bpf(2) needs root or CAP_BPF)'): { run: boolean; test: typeof uvuTest | typeof uvuTest.skip } {
  const run = process.getuid?.() === 0 || process.env.CI === 'true';
  if (!run) console.log(`# ${name} (kernel): SKIPPED: not ${needs}; CI=true forces these tests to run`);
  return { run, test: run ? uvuTest : uvuTest.skip };
}
