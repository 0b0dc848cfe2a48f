#!/usr/bin/env node
// Runs the uvu suites over TypeScript (tsx loader; plain `uvu -r tsx` breaks top-level
// await) and closes with one line `N passed, N failed, N skipped`. Fails when a test
// failed or when nothing ran.
//   node scripts/run-tests.mjs [--match REGEX] [dir ...]     default: test/unit test/kernel
// --match: only the test files whose name matches (default \.test\.ts$; the VM matrix's
// smoke run picks the attach, events and feature suites with it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const argv = process.argv.slice(2);
let match = '\\.test\\.ts$';
const at = argv.indexOf('--match');
if (at >= 0) {
  match = argv[at + 1] ?? '';
  argv.splice(at, 2);
  if (!match) { console.error('run-tests: --match needs a regular expression'); process.exit(2); }
}
const dirs = argv.length ? argv : ['test/unit', 'test/kernel'];

let passed = 0, total = 0, skipped = 0, crashed = false;
for (const dir of dirs) {
  if (!existsSync(path.join(root, dir))) continue;
  console.log(`\n# ${dir}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', uvu, dir, match], {
    cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => { const m = out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm')); return m ? Number(m[1]) : undefined; };
  const t = num('Total'), p = num('Passed'), s = num('Skipped');
  if (t === undefined || p === undefined) {
    console.error(`run-tests: uvu printed no summary for ${dir} (exit ${r.status}${r.signal ? ', ' + r.signal : ''})`);
    crashed = true;
    continue;
  }
  total += t; passed += p; skipped += s ?? 0;
  if (r.status !== 0 && t === p) crashed = true;
}
// uvu's Total counts run tests (not skipped ones).
const failed = total - passed;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || crashed) process.exit(1);
if (passed === 0) { console.error('run-tests: no test ran'); process.exit(1); }
