// Refusals that must say why in words a user can act on (issue 13, item 5), against the
// running kernel: the CO-RE poisoning line in the CLI's text report, a plain extern
// function that needs static linking, the map field BPF_MAP_CREATE's EINVAL is about,
// and a legacy map definition with bytes no loader reads (cilium's invalid_map).
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Collection, loadCollectionSpec, MapDefinitionError, mapFieldProblem, SyscallError, TsbpfError, VerifierError, type MapShape } from '../../src/index.js';
import { BPF_F_NO_PREALLOC, BPF_F_STACK_BUILD_ID } from '../../src/kernel/enums.js';
import { closeFd, mapCreate } from '../../src/sys/index.js';
import { fdCount } from '../helpers/leaks.js';
import { kernelSuite, ownIds } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('messages');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8' });

test('CO-RE poisoning: the VerifierError says which relocation poisoned the instruction, and so does the CLI\'s text report', () => {
  let err: unknown;
  try { Collection.loadFile(obj('messages'), { programs: ['core_poisoned'] }).close(); } catch (e) { err = e; }
  assert.instance(err, VerifierError);
  const v = err as VerifierError;
  assert.is(v.insn, 0);
  assert.match(v.explanation ?? '', /instruction 0 was poisoned by CO-RE relocation #0 \(byte_off xdp_md___tsbpf\.no_such_field\)/);
  const r = cli('bpf-objs/messages.bpf.o', '--only', 'core_poisoned');
  assert.is(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /REJECTED core_poisoned \(xdp, xdp\):\n\s+at insn 0: .*\n\s+source: .*messages\.bpf\.c:\d+: return m->no_such_field;\n\s+program 'core_poisoned': instruction 0 was poisoned by CO-RE relocation #0 \(byte_off xdp_md___tsbpf\.no_such_field\): no candidate .* has xdp_md___tsbpf\.no_such_field; the verifier reached it\n\s+verifier log/);
});

test('a plain extern function (no __ksym) is an unresolved extern that needs static linking, not a missing kfunc', () => {
  const fds = fdCount();
  assert.throws(() => Collection.loadFile(obj('messages'), { programs: ['plain_extern'] }), (e: unknown) => e instanceof TsbpfError
    && e.reason === 'extern-unresolved' && e.symbol === 'plain_extern'
    && /calls extern function 'tsbpf_not_linked' \(instruction 1\), which is defined in no object linked into this one.*bpftool gen object.*__ksym/.test(e.message)
    && !/kfunc 'tsbpf_not_linked'/.test(e.message));
  assert.is(fdCount(), fds, 'no fd left open');
  const r = cli('bpf-objs/messages.bpf.o', '--only', 'plain_extern');
  assert.is(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /REJECTED plain_extern \(xdp, xdp\):\n\s+program 'plain_extern' calls extern function 'tsbpf_not_linked'/);
  // the object's other program loads as it is
  Collection.loadFile(obj('messages')).close();
});

test('every map rule tsbpf checks before BPF_MAP_CREATE is one this kernel refuses with EINVAL', () => {
  const ok: Record<string, MapShape> = {
    hash: { type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
    array: { type: 'array', keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
    prog_array: { type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 },
    stack_trace: { type: 'stack_trace', keySize: 4, valueSize: 8 * 16, maxEntries: 4, flags: 0 },
    ringbuf: { type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 },
    queue: { type: 'queue', keySize: 0, valueSize: 8, maxEntries: 4, flags: 0 },
    lpm_trie: { type: 'lpm_trie', keySize: 8, valueSize: 8, maxEntries: 4, flags: BPF_F_NO_PREALLOC },
  };
  const broken: Array<[MapShape, string]> = [
    [{ ...ok.hash!, maxEntries: 0 }, 'max_entries'], [{ ...ok.hash!, keySize: 0 }, 'key_size'], [{ ...ok.hash!, valueSize: 0 }, 'value_size'],
    [{ ...ok.array!, keySize: 8 }, 'key_size'], [{ ...ok.array!, valueSize: 0 }, 'value_size'], [{ ...ok.array!, maxEntries: 0 }, 'max_entries'],
    [{ ...ok.prog_array!, valueSize: 8 }, 'value_size'],
    [{ ...ok.stack_trace!, valueSize: 0 }, 'value_size'], [{ ...ok.stack_trace!, valueSize: 12 }, 'value_size'], [{ ...ok.stack_trace!, keySize: 8 }, 'key_size'],
    [{ ...ok.stack_trace!, valueSize: 8 * 15, flags: BPF_F_STACK_BUILD_ID }, 'value_size'],
    [{ ...ok.ringbuf!, maxEntries: 0 }, 'max_entries'], [{ ...ok.ringbuf!, maxEntries: 3 * 4096 }, 'max_entries'], [{ ...ok.ringbuf!, valueSize: 8 }, 'value_size'],
    [{ ...ok.queue!, keySize: 4 }, 'key_size'], [{ ...ok.queue!, valueSize: 0 }, 'value_size'],
    [{ ...ok.lpm_trie!, flags: 0 }, 'map_flags'],
  ];
  for (const m of Object.values(ok)) {
    assert.is(mapFieldProblem(m), undefined, `${m.type}: the good shape passes the rules`);
    closeFd(mapCreate(m));
  }
  for (const [m, field] of broken) {
    const what = `${m.type} ${JSON.stringify(m)}`;
    assert.is(mapFieldProblem(m)?.field, field, `${what}: the rule names ${field}`);
    let code: string | undefined;
    try { closeFd(mapCreate(m)); } catch (e) { code = e instanceof SyscallError ? e.code : String(e); }
    assert.is(code, 'EINVAL', `${what}: the kernel refuses it with EINVAL`);
  }
});

test('map_unsized: max_entries left for the user and a stack map without value_size are named before anything is created; set, the object loads', () => {
  const spec = loadCollectionSpec(obj('map_unsized'));
  const fds = fdCount(), maps = ownIds('map');
  const refusal = () => { try { Collection.load(spec).close(); } catch (e) { return e; } return undefined; };
  let e = refusal();
  assert.instance(e, MapDefinitionError);
  let m = e as MapDefinitionError;
  assert.equal([m.map, m.mapType, m.field, m.value, m.reason, m.errnoName, m.symbol], ['stacks', 'stack_trace', 'value_size', 0, 'field-zero', undefined, 'stacks']);
  assert.match(m.message, /map 'stacks' \(stack_trace\) has value_size 0.*a non-zero multiple of 8: one u64 per frame/);
  assert.is(fdCount(), fds, 'no fd left open');
  assert.equal(ownIds('map'), maps, 'no map created');
  spec.maps.get('stacks')!.valueSize = 8 * 32;
  e = refusal();
  assert.instance(e, MapDefinitionError);
  m = e as MapDefinitionError;
  assert.equal([m.map, m.mapType, m.field, m.value, m.reason], ['events', 'ringbuf', 'max_entries', 0, 'field-zero']);
  assert.match(m.message, /map 'events' \(ringbuf\) has max_entries 0.*leaves the size for you to set before loading \(spec\.maps\.get\('events'\)\.maxEntries = N/);
  // not a power of two times the page size: rounded up, as libbpf does (adjust_ringbuf_sz)
  spec.maps.get('events')!.maxEntries = 40000;
  const c = Collection.load(spec);
  try {
    assert.is(c.maps.get('stacks')!.info().valueSize, 256);
    assert.is(c.maps.get('events')!.info().maxEntries, 64 * 1024);
    assert.is(c.maps.get('events')!.maxEntries, 64 * 1024);
  } finally { c.close(); }
});

test('a stack map deeper than kernel.perf_event_max_stack: the kernel\'s EINVAL, explained by value_size, with the errno kept', () => {
  const max = Number(readFileSync('/proc/sys/kernel/perf_event_max_stack', 'utf8').trim());
  const spec = loadCollectionSpec(obj('map_unsized'));
  spec.maps.get('stacks')!.valueSize = 8 * (max + 1);
  spec.maps.get('events')!.maxEntries = 4096;
  const fds = fdCount();
  assert.throws(() => Collection.load(spec), (e: unknown) => e instanceof MapDefinitionError
    && e.field === 'value_size' && e.value === 8 * (max + 1) && e.errnoName === 'EINVAL' && e.cause instanceof SyscallError
    && e.reason === 'field-out-of-range' && new RegExp(`at most kernel\\.perf_event_max_stack \\(${max}\\) frames`).test(e.message));
  assert.is(fdCount(), fds, 'no fd left open');
});

test('legacy_extra (cilium\'s invalid_map): non-zero bytes past struct bpf_map_def are refused naming file, section, map and offset; cleared, it loads', () => {
  const spec = loadCollectionSpec(obj('legacy_extra'));
  assert.equal([...spec.maps.get('invalid_map')!.extra!], [1, 0, 0, 0], 'parsed, with the bytes kept');
  const maps = ownIds('map');
  assert.throws(() => Collection.load(spec), (e: unknown) => e instanceof MapDefinitionError
    && e.reason === 'unknown-fields' && e.field === 'extra' && e.value === 1 && e.map === 'invalid_map'
    && e.file === spec.file && e.section === 'maps' && e.symbol === 'invalid_map' && e.offset === 20
    && /legacy map 'invalid_map' has non-zero bytes past the five fields of struct bpf_map_def: byte 20 of its 24-byte definition is 0x01/.test(e.message));
  assert.equal(ownIds('map'), maps, 'no map created');
  const r = cli('bpf-objs/legacy_extra.bpf.o');
  assert.is(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /NOT LOADED: bpf-objs\/legacy_extra\.bpf\.o, section maps, symbol invalid_map, offset 20 \(0x14\): legacy map 'invalid_map' has non-zero bytes/);
  spec.maps.get('invalid_map')!.extra = undefined;
  const c = Collection.load(spec);
  try {
    assert.is(c.programs.get('pass')!.testRun({ data: new Uint8Array(64) }).retval, 2);
    assert.is(c.maps.get('invalid_map')!.info().valueSize, 2);
  } finally { c.close(); }
});

uvuTest.run();
