// What a user of the package sees: `import ... from 'tsbpf'` (the compiled dist/ through
// package.json "exports") and `node bin/load.js`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

test("import { loadCollectionSpec } from 'tsbpf' works from the compiled package", () => {
  const r = node(['--input-type=module', '-e',
    "import { loadCollectionSpec, TsbpfError } from 'tsbpf'; const s = loadCollectionSpec('bpf-objs/tailcall_uretprobe.bpf.o'); console.log(JSON.stringify(s.maps.get('jmp_table').contents), typeof TsbpfError)"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '[{"key":135,"value":"handle_odd"},{"key":146,"value":"handle_even"}] function');
});

test("'tsbpf' resolves to the one-file bundle, which exports what dist/index.js exports", () => {
  const r = node(['--input-type=module', '-e',
    "import * as b from 'tsbpf'; import * as d from './dist/index.js'; import { createRequire } from 'node:module'; " +
    "console.log(JSON.stringify([import.meta.resolve('tsbpf').endsWith('/dist/tsbpf.mjs'), Object.keys(b).sort().join() === Object.keys(d).sort().join(), Object.keys(b).length, typeof b.Collection.loadFile]))"]);
  assert.is(r.status, 0, r.stderr);
  const [bundled, same, n, fn] = JSON.parse(r.stdout) as [boolean, boolean, number, string];
  assert.ok(bundled, "exports['.'].import is dist/tsbpf.mjs");
  assert.ok(same, 'same export names');
  assert.ok(n >= 30, `${n} exports`);
  assert.is(fn, 'function');
});

test('the bundle keeps the names of classes and functions: err.name and stack traces say SyscallError, not _SyscallError', () => {
  const r = node(['--input-type=module', '-e', `
    import * as t from 'tsbpf';
    const renamed = Object.entries(t).filter(([k, v]) => typeof v === 'function' && v.name !== k).map(([k, v]) => k + ' is ' + v.name);
    const errors = [new t.SyscallError('BPF_MAP_CREATE', 1), new t.TsbpfError('x'), new t.VerifierError('x', {}, { program: 'p', log: '', errnoName: 'EACCES' })];
    console.log(JSON.stringify({ renamed, names: errors.map((e) => e.name), stack: errors[0].stack.split('\\n')[0], collection: t.Collection.name }));`]);
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { renamed: string[]; names: string[]; stack: string; collection: string };
  assert.equal(got.renamed, [], 'every exported class and function keeps its name');
  assert.equal(got.names, ['SyscallError', 'TsbpfError', 'VerifierError']);
  assert.ok(got.stack.startsWith('SyscallError: BPF_MAP_CREATE failed: EPERM (1, Operation not permitted); hint: '), got.stack);
  assert.is(got.collection, 'Collection');
});

test('node bin/load.js reports the tail-call table; --json; exit 2 on a bad object', () => {
  const r = node(['bin/load.js', 'bpf-objs/tailcall_uretprobe.bpf.o']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /jmp_table: \[135\] -> handle_odd, \[146\] -> handle_even/);
  const j = node(['bin/load.js', '--json', 'bpf-objs/tailcall_run.bpf.o']);
  assert.is(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.objects[0].tailCalls.find((t: { slot: number }) => t.slot === 5), { map: 'run_table', slot: 5, program: 'tail_loop' });
  const bad = node(['bin/load.js', 'package.json']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^load: package\.json.*bad magic: not an ELF file/);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
  const missing = node(['bin/load.js', 'nope.o']);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /nope\.o: cannot read object: no such file/);
});

test.run();
