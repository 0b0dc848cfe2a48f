// scripts/readme.mjs: the markers of README.md and docs/cli.md, and what --check forgives
// (ids, times, kernel patch numbers) and what it does not (counts, lines, options).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blocksOf, normalise, vmTable } from '../../scripts/readme.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('README.md and docs/cli.md: every gen: marker opens a well-formed block; the VM table and the CLI report are generated', () => {
  const readme = blocksOf(readFileSync(path.join(root, 'README.md'), 'utf8'));
  assert.equal(readme.map((b) => b.kind).sort(), ['output', 'output', 'test-summary', 'vm-table'], 'the CLI report, the skeleton types of global_data, the test line, the VM table');
  const cli = blocksOf(readFileSync(path.join(root, 'docs/cli.md'), 'utf8'));
  assert.ok(cli.length >= 9, `${cli.length} blocks in docs/cli.md`);
  assert.ok(cli.filter((b) => b.kind === 'session').every((b) => b.body.startsWith('$ ')), 'every session block starts with a command');
  assert.throws(() => blocksOf('<!-- gen:session -->\n```\n$ true\n```\n'), /1 gen: markers but 0 well-formed blocks/);
});

test('normalise: ids, load times, prog ids in a bpftool dump, ls -l dates and column padding do not count', () => {
  const a = '    handle_odd      uretprobe  kprobe     accepted     19       17    0.93 ms  id 36611\n    jmp_table    prog_array  key 4 value 4 max 1024  id 16327\nkey: 02 00 00 00  value: 30 54 00 00\n"loadMs": 0.1\n<testcase name="a" time="0.000113"/>';
  const b = '    handle_odd      uretprobe  kprobe     accepted     19       17   10.12 ms  id 5\n    jmp_table    prog_array  key 4 value 4 max 1024  id 7\nkey: 02 00 00 00  value: 01 02 00 00\n"loadMs": 12.25\n<testcase name="a" time="0.1"/>';
  assert.is(normalise(a), normalise(b));
  assert.is(normalise('lrwxrwxrwx 1 root root 0 Nov 30 17:38 0 -> ../tc_a'), normalise('lrwxrwxrwx 1 root root 0 Dec  1 09:02 0 -> ../tc_a'), 'ls -l dates');
  assert.is.not(normalise(a), normalise(a.replace('accepted     19', 'accepted     20')), 'an instruction count counts');
  assert.is.not(normalise(a), normalise(a.replace('key: 02', 'key: 03')), 'a slot counts');
});

test('vmTable: the last table of a matrix run; kernel patch numbers and minutes do not count, test counts do', () => {
  const run = (k1: string, n: number, secs: number, suite = 'full') => `## 6.1: booting\nkernel tests 1 0 0\n\nkernel                   kernel tests           CLI (programs)         time  tests
                         passed failed skipped  passed failed skipped
${k1.padEnd(24)} ${String(n).padStart(6)}      0      0      39      0      0   ${secs}s  ${suite}
6.12.117+deb12-amd64         ${n}      0      0      39      0      0   100s  full

failed rows: none\n`;
  const t = vmTable(run('6.1.0-56-amd64', 64, 144))!;
  assert.is(t.split('\n').length, 4);
  assert.ok(t.startsWith('kernel '));
  assert.is(normalise(t), normalise(vmTable(run('6.1.0-57-amd64', 64, 151))!));
  assert.is.not(normalise(t), normalise(vmTable(run('6.1.0-56-amd64', 39, 144))!), 'a test count counts');
  assert.is.not(normalise(t), normalise(vmTable(run('6.1.0-56-amd64', 64, 144, 'smoke'))!), 'the suite a kernel ran counts');
  assert.is(vmTable('no table here'), undefined);
});

test.run();
