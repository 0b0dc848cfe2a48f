// Feature probes and the release table without privileges: the table's shape (every kernel
// name has a release; helper ids only grow with time), refusals explained against the fake
// kernel (a missing helper, a helper not for the program type, a missing map type, a
// missing program type), --features' text, and the --kernel table / JUnit from guest output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BPF_ADD, BPF_ALU64, BPF_ATOMIC, BPF_DW, BPF_FETCH, BPF_K, BPF_MEM, BPF_MOV, BPF_STX, HELPER_NAMES } from '../../src/asm/index.js';
import { ATTACH_TYPES, LINK_TYPES, MAP_TYPES, PROG_TYPES } from '../../src/kernel/enums.js';
import { ATTACH_TYPE_SINCE, HELPER_SINCE, LINK_TYPE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, releaseHas, versionNumber } from '../../src/kernel/since.js';
import { NEWER_HELPER_NAMES } from '../../src/kernel/helper-since.js';
import { Collection } from '../../src/load/collection.js';
import { formatFeatures, type FeatureTable } from '../../src/load/feature-table.js';
import { calledHelpers, MissingFeatureError } from '../../src/load/missing.js';
import { enumeratorValues, hasMapType, helperSupport, isaFeatures } from '../../src/load/probes.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { allAccepted, guestArgs, junitByKernel, kernelTable, kernelLines, parseGuestOutput, runnerKernelArgs, type KernelRun } from '../../src/cli/kernels.js';
import { LINE_NAMES } from '../../scripts/vm/kernels.mjs';
import { parseArgs } from '../../src/cli/args.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (n: string) => loadCollectionSpec(path.join(root, 'bpf-objs', `${n}.bpf.o`));
const helperId = (name: string) => HELPER_NAMES.indexOf(name);

test('release table: every program, map, attach and link type and every helper has a release; versions parse', () => {
  for (const t of Object.keys(PROG_TYPES)) if (t !== 'unspec') assert.ok(PROG_TYPE_SINCE[t as keyof typeof PROG_TYPE_SINCE], t);
  for (const t of Object.keys(MAP_TYPES)) if (t !== 'unspec') assert.ok(MAP_TYPE_SINCE[t as keyof typeof MAP_TYPE_SINCE], t);
  for (const t of Object.keys(ATTACH_TYPES)) assert.ok(ATTACH_TYPE_SINCE[t as keyof typeof ATTACH_TYPE_SINCE], t);
  for (const t of Object.keys(LINK_TYPES)) if (t !== 'unspec') assert.ok(LINK_TYPE_SINCE[t as keyof typeof LINK_TYPE_SINCE], t);
  const names = [...HELPER_NAMES.slice(1), ...Object.values(NEWER_HELPER_NAMES)];
  for (const n of names) assert.match(HELPER_SINCE[n!.replace(/^bpf_/, '')] ?? '', /^\d+\.\d+$/, n);
  assert.is(Object.keys(HELPER_SINCE).length, names.length, 'no entry without a helper');
  assert.is(versionNumber('6.1.0-57-amd64'), 6001);
  assert.ok(releaseHas('5.17.0', '5.17') && !releaseHas('5.16.20', '5.17') && releaseHas('7.2.13+deb14-amd64', '6.12'));
});

test('release table: helper ids only grow with time, so their releases never go down', () => {
  const names = [...HELPER_NAMES.slice(1), ...Object.values(NEWER_HELPER_NAMES)];
  let prev = 0, prevName = '';
  for (const n of names) {
    const v = versionNumber(HELPER_SINCE[n!.replace(/^bpf_/, '')]!);
    assert.ok(v >= prev, `${n} (${v}) is older than ${prevName} (${prev}), which has a lower id`);
    prev = v; prevName = n!;
  }
  // facts the messages quote, checked against the commits that brought them
  assert.equal([HELPER_SINCE.loop, HELPER_SINCE.for_each_map_elem, HELPER_SINCE.xdp_output, HELPER_SINCE.ktime_get_coarse_ns, MAP_TYPE_SINCE.bloom_filter, MAP_TYPE_SINCE.ringbuf, LINK_TYPE_SINCE.struct_ops, ATTACH_TYPE_SINCE.tcx_ingress],
    ['5.17', '5.13', '5.7', '5.11', '5.16', '5.8', '5.19', '6.6']);
});

test('calledHelpers: helper calls only (not bpf-to-bpf calls or kfuncs)', () => {
  const ids = calledHelpers(fixture('bpf2bpf').programs.get('loop_sock')!.instructions);
  assert.ok(ids.includes(helperId('bpf_loop')), ids.join());
  const kf = fixture('kfuncs').programs.get('ct_lookup')!;
  assert.not.ok(calledHelpers(kf.instructions).some((id) => id > 1000), 'kfunc BTF ids are not helpers');
});

test('a helper the kernel lacks: the refusal names it, its id and the release that brings it', () => {
  const k = new FakeKernel();
  k.missingHelpers.add(helperId('bpf_loop'));
  let err: unknown;
  k.use(() => {
    assert.is(helperSupport('socket_filter', helperId('bpf_loop')), 'no-helper');
    assert.is(helperSupport('socket_filter', helperId('bpf_map_lookup_elem')), 'yes');
    try { Collection.load(fixture('bpf2bpf'), { programs: ['loop_sock'] }); } catch (e) { err = e; }
  });
  assert.instance(err, MissingFeatureError);
  const m = err as MissingFeatureError;
  assert.equal([m.kind, m.feature, m.id, m.since, m.reason, m.programType, m.symbol], ['helper', 'bpf_loop', 181, '5.17', 'kernel-lacks', 'socket_filter', 'loop_sock']);
  assert.match(m.message, /program 'loop_sock' calls bpf_loop \(helper 181\), which this kernel (does not have \(Linux 5\.17\+\)|does not offer)/);
  assert.ok(m.cause, 'the verifier refusal stays as the cause');
  assert.equal(k.openFds(), []);
});

test('a helper not allowed in the program type, a map type and a program type the kernel lacks', () => {
  const k = new FakeKernel();
  const loop = helperId('bpf_loop');
  // the kernel knows bpf_loop but not in socket filters
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.progType === 'socket_filter' && c.helpers!.includes(loop)
    ? { errno: 'EINVAL', log: `0: (85) call bpf_loop#${loop}\nprogram of this type cannot use helper bpf_loop#${loop}\n` } : undefined));
  let err: unknown;
  k.use(() => { try { Collection.load(fixture('bpf2bpf'), { programs: ['loop_sock'] }); } catch (e) { err = e; } });
  assert.instance(err, MissingFeatureError);
  assert.is((err as MissingFeatureError).reason, 'not-for-program-type');
  assert.match((err as Error).message, /calls bpf_loop \(helper 181\), which this kernel does not allow in socket_filter programs/);

  const noBloom = new FakeKernel();
  noBloom.rules.push((c) => (c.command === 'BPF_MAP_CREATE' && c.mapType === 'bloom_filter' ? 'EINVAL' : undefined));
  err = undefined;
  noBloom.use(() => { try { Collection.load(fixture('map_types')); } catch (e) { err = e; } });
  assert.instance(err, MissingFeatureError);
  assert.equal([(err as MissingFeatureError).kind, (err as MissingFeatureError).feature, (err as MissingFeatureError).since, (err as MissingFeatureError).symbol], ['map-type', 'bloom_filter', '5.16', 'bloom']);
  assert.match((err as Error).message, /map 'bloom' is a bloom_filter map, which this kernel (does not have \(Linux 5\.16\+\)|does not offer)/);
  assert.equal(noBloom.openFds(), []);

  const noSyscall = new FakeKernel();
  noSyscall.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.progType === 'xdp' ? 'EINVAL' : undefined));
  err = undefined;
  noSyscall.use(() => { try { Collection.load(fixture('global_data')); } catch (e) { err = e; } });
  assert.instance(err, MissingFeatureError);
  assert.equal([(err as MissingFeatureError).kind, (err as MissingFeatureError).feature], ['program-type', 'xdp']);
});

test('map type probes: a refused helper object (BTF of a local storage map, inner map of a map-in-map) means the type is missing, and nothing stays open', () => {
  const noBtf = new FakeKernel();
  noBtf.rules.push((c) => (c.command === 'BPF_BTF_LOAD' ? 'EPERM' : undefined));
  noBtf.use(() => assert.is(hasMapType('sk_storage'), false));
  assert.ok(noBtf.calls.some((c) => c.command === 'BPF_BTF_LOAD'), 'the probe loaded its BTF');
  assert.not.ok(noBtf.calls.some((c) => c.command === 'BPF_MAP_CREATE'), 'and created no map after the refusal');
  assert.equal(noBtf.openFds(), []);
  const noHash = new FakeKernel();
  noHash.rules.push((c) => (c.command === 'BPF_MAP_CREATE' && c.mapType === 'hash' ? 'ENOMEM' : undefined));
  noHash.use(() => assert.is(hasMapType('hash_of_maps'), false));
  assert.not.ok(noHash.calls.some((c) => c.mapType === 'hash_of_maps'), 'no outer map without its inner map');
  assert.equal(noHash.openFds(), []);
  const fine = new FakeKernel();
  fine.use(() => assert.is(hasMapType('array_of_maps'), true));
  assert.ok(fine.calls.some((c) => c.mapType === 'array_of_maps'));
  assert.equal(fine.openFds(), []);
});

test('instruction-set extensions: found in programs; a refusal of fetch atomics names them and 5.12', () => {
  assert.equal(isaFeatures(fixture('global_data').programs.get('const_ret')!.instructions), []);
  // const_ret with `r1 = 0; *(u64 *)(r10 - 8) = r1; r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)` in front
  const spec = fixture('global_data');
  const p = spec.programs.get('const_ret')!;
  const fetchAdd = [
    { opcode: BPF_ALU64 | BPF_MOV | BPF_K, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: BPF_STX | BPF_MEM | BPF_DW, dst: 10, src: 1, off: -8, imm: 0 },
    { opcode: BPF_STX | BPF_ATOMIC | BPF_DW, dst: 10, src: 1, off: -8, imm: BPF_ADD | BPF_FETCH },
  ];
  spec.programs.set('const_ret', { ...p, instructions: [...fetchAdd, ...p.instructions] });
  assert.equal(isaFeatures(spec.programs.get('const_ret')!.instructions), ['atomics']);
  assert.equal(isaFeatures([{ ...fetchAdd[2]!, imm: BPF_ADD }]), [], 'plain atomic add is the old BPF_XADD');
  const k = new FakeKernel();
  // a 5.10 verifier: any BPF_ATOMIC other than add is "BPF_STX uses reserved fields"
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.atomicFetch ? { errno: 'EINVAL', log: 'BPF_STX uses reserved fields\n' } : undefined));
  let err: unknown;
  k.use(() => { try { Collection.load(spec, { programs: ['const_ret'], noBtf: true }); } catch (e) { err = e; } });
  assert.instance(err, MissingFeatureError);
  assert.equal([(err as MissingFeatureError).kind, (err as MissingFeatureError).feature, (err as MissingFeatureError).since], ['instruction', 'atomics', '5.12']);
  assert.match((err as Error).message, /program 'const_ret' uses atomic operations other than add .* (does not have \(Linux 5\.12\+\)|does not offer)/);
  assert.equal(k.openFds(), []);
});

test('a refusal no missing feature explains stays what it was', () => {
  const k = new FakeKernel();
  k.rules.push((c) => (c.command === 'BPF_PROG_LOAD' && c.name === 'ret_11' ? { errno: 'EACCES', log: '0: (95) exit\nR0 !read_ok\n' } : undefined));
  let err: unknown;
  k.use(() => { try { Collection.load(fixture('tailcall_run')); } catch (e) { err = e; } });
  assert.ok(err instanceof Error && !(err instanceof MissingFeatureError), String(err));
});

const TABLE: FeatureTable = {
  kernel: '5.10.0-46-amd64',
  memcgAccounting: { available: false, since: '5.11' },
  programTypes: { xdp: { available: true, since: '4.8' }, syscall: { available: false, since: '5.14' }, lirc_mode2: { available: false, since: '4.18' } },
  mapTypes: { bloom_filter: { available: false, since: '5.16' } },
  helpers: { xdp: { available: ['bpf_map_lookup_elem'], source: 'probed' }, tracing: { available: ['bpf_map_lookup_elem'], source: 'kernel-enum' }, syscall: { available: [], source: 'no-type' } },
  instructions: { jmp32: { available: true, since: '5.1' }, atomics: { available: false, since: '5.12' }, isa_v4: { available: false, since: '6.6' } },
  btf: { btf: { available: true, since: '4.18' } } as FeatureTable['btf'],
  linkTypes: { tcx: { available: false, since: '6.6' }, xdp: { available: undefined, since: '5.9' } },
  attachTypes: {},
  program: { expectedAttachType: true },
};

test('formatFeatures: bpftool feature probe layout, releases, why a feature of an older release is missing', () => {
  const t = formatFeatures(TABLE);
  for (const line of [
    'Kernel 5.10.0-46-amd64', 'Scanning eBPF program types...', 'eBPF program_type xdp is available (Linux 4.8+)',
    'eBPF program_type syscall is NOT available (Linux 5.14+)', 'eBPF program_type lirc_mode2 is NOT available (Linux 4.18+: built without it, or refused here)',
    'eBPF map_type bloom_filter is NOT available (Linux 5.16+)', 'eBPF helpers supported for program type xdp:', '\t- bpf_map_lookup_elem',
    'eBPF link_type tcx is NOT known (Linux 6.6+)', 'eBPF instructions atomics is NOT available (Linux 5.12+)', 'eBPF link_type xdp is unknown (no kernel BTF to ask) (Linux 5.9+)',
  ]) assert.ok(t.includes(`${line}\n`), line);
  assert.match(t, /charged to RLIMIT_MEMLOCK .*Linux 5\.11\+ has it/);
  assert.match(t, /program type tracing \(not probed: needs an attach target/);
  assert.not.match(t, /program type syscall:/);
});

const RUNS: KernelRun[] = [
  { kernel: '5.10', release: '5.10.0-46-amd64', status: 1, secs: 80, objects: [{ file: 'a.o', programs: [{ name: 'p1', verdict: 'accepted' }, { name: 'p2', verdict: 'rejected', error: "program 'p2' calls bpf_loop (helper 181), which this kernel does not have (Linux 5.17+)\nmore" }] }, { file: 'b.o', error: "map 'bloom' is a bloom_filter map, which this kernel does not have (Linux 5.16+)", programs: [{ name: 'q', verdict: 'skipped' }] }] },
  { kernel: '6.1', release: '6.1.0-57-amd64', status: 0, secs: 60, objects: [{ file: 'a.o', programs: [{ name: 'p1', verdict: 'accepted' }, { name: 'p2', verdict: 'accepted' }] }, { file: 'b.o', programs: [{ name: 'q', verdict: 'accepted' }] }] },
  { kernel: '7', status: 125, secs: 5, objects: [], error: 'no JSON document in the guest\'s output (runner exit 125: vm: guest setup failed)' },
];

test('--kernel: one table object x program x kernel, reasons below; JUnit one suite per kernel', () => {
  const t = kernelTable(RUNS);
  assert.match(t, /^object \/ program +5\.10\.0-46-amd64 +6\.1\.0-57-amd64 +7$/m);
  assert.match(t, /^ {2}p1 +accepted +accepted +no result$/m);
  assert.match(t, /^ {2}p2 +rejected \[1\] +accepted +no result$/m);
  assert.match(t, /^b\.o +not loaded \[2\]/m);
  assert.match(t, /^\[1\] 5\.10\.0-46-amd64: p2: program 'p2' calls bpf_loop \(helper 181\), which this kernel does not have \(Linux 5\.17\+\)$/m);
  assert.match(t, /^\[2\] 5\.10\.0-46-amd64: b\.o: map 'bloom' is a bloom_filter map/m);
  assert.match(t, /^7: no JSON document/m);
  assert.is(allAccepted(RUNS), false);
  assert.is(allAccepted([RUNS[1]!]), true);
  const x = junitByKernel(RUNS);
  assert.is((x.match(/<testsuite /g) ?? []).length, 3);
  assert.match(x, /<testsuite name="5\.10\.0-46-amd64" tests="3" failures="2" skipped="0"/);
  assert.match(x, /<testsuite name="6\.1\.0-57-amd64" tests="3" failures="0"/);
  assert.match(x, /<testcase classname="a\.o" name="p2"><failure type="verifier" message="program &apos;p2&apos; calls bpf_loop/);
  assert.match(x, /<testsuite name="7" tests="1" failures="1"/);
});

test('--kernel: guest output parsed around console noise; the options a guest repeats', () => {
  const doc = { objects: [{ file: '/w/a.o', programs: [{ name: 'p', verdict: 'accepted' }] }] };
  const out = `[    0.5] random kernel line\ntsbpf-kernel-release: 6.1.0-57-amd64\n${JSON.stringify(doc, null, 2)}\n`;
  assert.equal(parseGuestOutput(out), { release: '6.1.0-57-amd64', doc: doc.objects });
  assert.match(parseGuestOutput('tsbpf-kernel-release: 5.10\nSegmentation fault\n').error!, /no JSON document/);
  const o = parseArgs(['--kernel', '5.10,6.1', '--kernel', '7', '--set', 'x=1', '--only', 'p', '--log-level', '2', 'bpf-objs/a.o']);
  assert.equal(o.kernels, ['5.10', '6.1', '7']);
  assert.equal(guestArgs(o), ['--json', '--set', 'x=1', '--only', 'p', '--log-level', '2', path.resolve('bpf-objs/a.o')]);
});

test('--kernel: every line the VM runner knows is booted by name, anything else as a bzImage path', () => {
  assert.equal([...kernelLines()], LINE_NAMES);
  for (const line of LINE_NAMES) assert.equal(runnerKernelArgs(line), ['--kernel', line]);
  assert.equal(runnerKernelArgs('6.6'), ['--kernel-image', path.resolve('6.6')]);
  assert.equal(runnerKernelArgs('/boot/vmlinuz-6.18'), ['--kernel-image', '/boot/vmlinuz-6.18']);
});

test('kernel enums without their end markers: __MAX_*, __BPF_FUNC_MAX_ID and the plain MAX_BPF_LINK_TYPE of older headers', () => {
  // enum bpf_link_type as Debian 12's 6.1 has it: MAX_BPF_LINK_TYPE = 10 is netfilter's id from 6.4
  const link61 = [{ name: 'BPF_LINK_TYPE_UNSPEC', value: 0 }, { name: 'BPF_LINK_TYPE_KPROBE_MULTI', value: 8 }, { name: 'BPF_LINK_TYPE_STRUCT_OPS', value: 9 }, { name: 'MAX_BPF_LINK_TYPE', value: 10 }];
  assert.equal([...enumeratorValues(link61)], [0, 8, 9]);
  assert.equal([...enumeratorValues([{ name: 'BPF_FUNC_unspec', value: 0 }, { name: 'BPF_FUNC_map_lookup_elem', value: 1 }, { name: '__BPF_FUNC_MAX_ID', value: 2 }])], [0, 1]);
  assert.equal([...enumeratorValues([{ name: 'BPF_PROG_TYPE_XDP', value: 6 }, { name: '__MAX_BPF_PROG_TYPE', value: 7 }])], [6]);
});

test.run();
