// Objects libbpf loads and tsbpf must load as well (issue 13), run in the kernel:
// __hidden subprograms verified in their caller's context, overridden weak functions,
// programs in sections no table knows (and cilium's long section names).
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Collection, loadCollectionSpec, TsbpfError, VerifierError } from '../../src/index.js';
import { fdCount } from '../helpers/leaks.js';
import { kernelSuite, ownIds } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('parity');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const packet = () => new Uint8Array(64);

test('__hidden subprograms are verified inside their caller (as libbpf makes them static) and compute 82', () => {
  const c = Collection.loadFile(obj('hidden_func'));
  try {
    assert.is(c.programs.get('hidden_calls')!.testRun({ data: packet() }).retval, 82);
  } finally { c.close(); }
});

test('the same store in a visible global function is verified alone and refused', () => {
  const spec = loadCollectionSpec(obj('hidden_func'));
  assert.throws(() => Collection.load(spec, { programs: ['visible_call'] }),
    (e: unknown) => e instanceof VerifierError && /visible_call/.test(e.message));
});

test('a statically linked object whose weak function was overridden loads and calls the strong copy', () => {
  const c = Collection.loadFile(obj('weak_override'));
  try {
    assert.is(c.programs.get('use_pick')!.testRun({ data: packet() }).retval, 101);
    assert.is(c.programs.get('use_pick_too')!.testRun({ data: packet() }).retval, 1102);
    assert.is(c.maps.get('.bss')!.lookupBytes(0)!.readUInt32LE(0), 0, 'the weak copy never ran');
  } finally { c.close(); }
});

test('a program without a type fails to load naming its section, before anything is created', () => {
  const fds = fdCount(), maps = ownIds('map');
  assert.throws(() => Collection.loadFile(obj('unknown_section')), (e: unknown) => e instanceof TsbpfError
    && e.reason === 'missing-program-type' && e.section === 'tsbpf/custom' && e.symbol === 'custom_prog'
    && /custom_prog.*no program type.*section 'tsbpf\/custom'/.test(e.message));
  assert.is(fdCount(), fds, 'no fd left open');
  assert.equal(ownIds('map'), maps, 'no map created');
});

test('a type set on the spec rescues it: the slot pointing at it is filled and the tail call jumps; long forms load as their types', () => {
  const spec = loadCollectionSpec(obj('unknown_section'));
  const p = spec.programs.get('custom_prog')!;
  p.type = 'xdp';
  p.attachType = 'xdp'; // as SEC("xdp") gives dispatch, the array's owner
  const c = Collection.load(spec);
  try {
    assert.is(c.programs.get('dispatch')!.testRun({ data: packet() }).retval, 7, 'tail call into custom_prog');
    assert.is(c.programs.get('custom_prog')!.info().typeName, 'xdp');
    assert.is(c.programs.get('long_socket')!.testRun({ data: packet() }).retval, 42);
    assert.is(c.programs.get('long_socket')!.info().typeName, 'socket_filter');
    assert.is(c.programs.get('long_lookup')!.info().typeName, 'sk_lookup');
  } finally { c.close(); }
});

test('the type alone (no expected attach type): loads where prog arrays do not compare attach types, else the refusal says what differs', () => {
  const spec = loadCollectionSpec(obj('unknown_section'));
  spec.programs.get('custom_prog')!.type = 'xdp';
  let c: Collection | undefined;
  try {
    c = Collection.load(spec);
  } catch (e) {
    // Linux 6.17+ (and kernels with the CVE-2025-40123 fix) compare the expected attach type
    assert.ok(e instanceof TsbpfError && /refused 'custom_prog' in slot 0 \(EINVAL\): the array belongs to 'dispatch'.*expected attach type none against expected attach type xdp/.test(e.message), String(e));
    return;
  }
  try {
    assert.is(c.programs.get('dispatch')!.testRun({ data: packet() }).retval, 7);
  } finally { c.close(); }
});

test('CLI: the untyped program is rejected naming its section (exit 1); --type custom_prog=xdp loads it all (exit 0)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8' });
  const r = cli('bpf-objs/unknown_section.bpf.o');
  assert.is(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /custom_prog\s+tsbpf\/custom\s+\(no type\)\s+rejected/);
  assert.match(r.stdout, /REJECTED custom_prog \(tsbpf\/custom, \(no type\)\):\n\s+program 'custom_prog' has no program type: section 'tsbpf\/custom'.*--type custom_prog=TYPE/);
  assert.match(r.stdout, /long_socket\s+socket\/tail\s+socket_filter\s+accepted/);
  const t = cli('--type', 'custom_prog=xdp', 'bpf-objs/unknown_section.bpf.o');
  assert.is(t.status, 0, t.stderr + t.stdout);
  assert.match(t.stdout, /custom_prog\s+tsbpf\/custom\s+xdp\/xdp\s+accepted/);
  assert.match(t.stdout, /jmp_table: \[0\] -> custom_prog/);
  const j = JSON.parse(cli('--json', 'bpf-objs/unknown_section.bpf.o').stdout) as { objects: Array<{ programs: Array<{ name: string; type: string | null }> }> };
  assert.is(j.objects[0]!.programs.find((p) => p.name === 'custom_prog')!.type, null);
});

uvuTest.run();
