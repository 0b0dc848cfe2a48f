// Objects libbpf loads and tsbpf must load as well (issue 13), run in the kernel:
// __hidden subprograms verified in their caller's context, overridden weak functions.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, loadCollectionSpec, VerifierError } from '../../src/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

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

uvuTest.run();
