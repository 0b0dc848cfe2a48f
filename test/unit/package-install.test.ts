// The published package: `npm pack`, installed into an empty directory, then imported
// and run as a user would, without privileges. (Loading through it into the kernel:
// test/kernel/package-install.test.ts.) The only check that what npm publishes works.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kernelLines, packageRoot } from '../../src/cli/kernels.js';
import { installPackage, root } from '../helpers/installed-package.js';

const pkg = installPackage('pack-unit');
test.after(() => pkg.remove());
const fixture = path.join(root, 'bpf-objs/tailcall_uretprobe.bpf.o');
const installed = path.join(pkg.dir, 'node_modules');

const VM_RUNNER = [...['run', 'kernels', 'initramfs', 'guest', 'host'].map((f) => `scripts/vm/${f}.mjs`), 'scripts/vm/lines.json'];

test('the tarball holds what a user runs (the two bundles, types, the CLI, the VM runner), not sources, tests, fixtures or build files', () => {
  for (const f of ['package.json', 'README.md', 'bin/load.js', 'bin/vm.js', 'bin/tsbpf-gen.js', 'bin/package.json', 'dist/tsbpf.mjs', 'dist/index.d.ts', 'dist/cli/boot.js', 'dist/cli/boot.cjs', 'dist/cli.bundle.cjs', 'dist/cli.bundle.cache', ...VM_RUNNER]) {
    assert.ok(pkg.files.includes(f), `${f} is in the tarball`);
  }
  const stray = pkg.files.filter((f) => !/^(package\.json|README\.md|bin\/([^/]+\.js|package\.json)|dist\/.+\.d\.ts|dist\/(tsbpf\.mjs|cli\/boot\.c?js|cli\.bundle\.(cjs|cache))|scripts\/vm\/((run|kernels|initramfs|guest|host)\.mjs|lines\.json))$/.test(f));
  assert.equal(stray, [], 'nothing else (no src/, test/, bpf-objs/, per-module dist/*.js, source maps, esbuild metafile, the repository\'s test matrix)');
});

test('npx tsbpf-vm: the VM runner as installed (usage, exit 2 on a bad kernel line), where `tsbpf-load --kernel` finds it', () => {
  const help = pkg.run('node_modules/.bin/tsbpf-vm', ['--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: tsbpf-vm \(--kernel 5\.10\|6\.1\|6\.12\|7\|sid \| --kernel-image PATH/);
  const bad = pkg.run('node_modules/.bin/tsbpf-vm', ['--kernel', '4.19', '--', 'true']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^vm: --kernel 4\.19: expected one of 5\.10, 6\.1, 6\.12, 7, sid/);
  // the CLI's --kernel runs scripts/vm/run.mjs of its own package: from the installed bundle
  const tsbpf = path.join(installed, 'tsbpf');
  assert.is(packageRoot(path.join(tsbpf, 'dist', 'cli.bundle.cjs')), tsbpf);
  // and tells the lines it boots by name from the runner's own table there
  assert.equal([...kernelLines(tsbpf)], ['5.10', '6.1', '6.12', '7', 'sid']);
});

test('npm installs the runtime dependencies only (uvu and the build tools are not)', () => {
  for (const d of ['tsbpf', 'elfy', 'koffi']) assert.ok(existsSync(path.join(installed, d, 'package.json')), `${d} installed`);
  for (const d of ['uvu', 'esbuild', 'typescript', 'tsx']) assert.not.ok(existsSync(path.join(installed, d)), `${d} not installed`);
});

test("import from 'tsbpf' resolves to the installed bundle, reads an object, and keeps error names", () => {
  const r = pkg.node(`
    import { loadCollectionSpec, SyscallError, Collection } from 'tsbpf';
    const s = loadCollectionSpec(${JSON.stringify(fixture)});
    console.log(JSON.stringify({
      resolved: import.meta.resolve('tsbpf'),
      contents: s.maps.get('jmp_table').contents,
      names: [new SyscallError('x').name, Collection.name],
    }));`);
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { resolved: string; contents: unknown; names: string[] };
  assert.ok(got.resolved.endsWith(`${pkg.dir}/node_modules/tsbpf/dist/tsbpf.mjs`), got.resolved);
  assert.equal(got.contents, [{ key: 135, value: 'handle_odd' }, { key: 146, value: 'handle_even' }]);
  assert.equal(got.names, ['SyscallError', 'Collection']);
});

test('npx tsbpf-load --no-load <object>: the static report, exit 0, run from the bundle; exit 2 and one line on a bad object', () => {
  const r = pkg.run('npx', ['--no-install', 'tsbpf-load', '--no-load', fixture]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /jmp_table: \[135\] -> handle_odd, \[146\] -> handle_even/);
  assert.match(r.stdout, /uretprobe_entry -> jmp_table\[135\] -> handle_odd/);
  const bad = pkg.run('node_modules/.bin/tsbpf-load', ['--no-load', 'package.json']); // what npx ran, without npx's second of start-up
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^load: package\.json.*bad magic: not an ELF file[^\n]*\n$/);
  const boot = pkg.node("import { entryPoint } from './node_modules/tsbpf/dist/cli/boot.js'; console.log(entryPoint())");
  assert.is(boot.stdout.trim(), 'bundle + code cache', 'the installed CLI starts from its bundle and code cache');
});

test('npx tsbpf-gen: the installed generator writes a skeleton that compiles (tsc --strict) against the installed types', () => {
  const r = pkg.run('npx', ['--no-install', 'tsbpf-gen', path.join(root, 'bpf-objs/global_data.bpf.o'), '--embed', '-o', 'global_data.skel.ts']);
  assert.is(r.status, 0, r.stderr);
  assert.match(readFileSync(path.join(pkg.dir, 'global_data.skel.ts'), 'utf8'), /^\/\/ Generated by tsbpf-gen /);
  writeFileSync(path.join(pkg.dir, 'use.ts'), [
    "import { GlobalDataSkeleton } from './global_data.skel.js';",
    'export const spec = GlobalDataSkeleton.spec();',
    'export const load = (): bigint => GlobalDataSkeleton.load({ rodata: { scale: 5 } }).bss.read().hits;',
  ].join('\n'));
  writeFileSync(path.join(pkg.dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], typeRoots: [path.join(root, 'node_modules/@types')], skipLibCheck: true },
    include: ['*.ts'],
  }));
  const tsc = pkg.run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  const bad = pkg.run('node_modules/.bin/tsbpf-gen', [path.join(root, 'bpf-objs/nobtf.bpf.o')]);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^tsbpf-gen: .*nobtf\.bpf\.o: the object has no BTF/);
});

test.run();
