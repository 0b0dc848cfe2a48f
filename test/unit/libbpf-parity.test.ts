// What libbpf does at open time that changes what the kernel is given, checked on the
// fixtures made for it (issue 13): hidden subprograms, overridden weak functions, unknown
// sections and cilium's long section names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../../src/index.js';
import { longFormEntry, programSectionDef, sectionDef } from '../../src/spec/sections.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);

function funcLinkage(spec: ReturnType<typeof loadCollectionSpec>, name: string): number[] {
  const btf = spec.btf!;
  return btf.idsByName(name).map((id) => btf.typeById(id)).filter((t) => t.kind === 'func').map((t) => (t as { linkage: number }).linkage);
}

test('__hidden global and weak subprograms get BTF FUNC linkage static (libbpf mark_btf_static); visible ones and programs stay global', () => {
  const spec = loadCollectionSpec(obj('hidden_func'));
  assert.equal(funcLinkage(spec, 'fill'), [0], 'fill: __weak __hidden -> static');
  assert.equal(funcLinkage(spec, 'twice'), [0], 'twice: __hidden -> static');
  assert.equal(funcLinkage(spec, 'exposed'), [1], 'exposed: global, default visibility');
  assert.equal(funcLinkage(spec, 'hidden_calls'), [1], 'a program keeps its linkage');
  // the programs' func_info point at those FUNCs
  const p = spec.programs.get('hidden_calls')!;
  const names = p.funcInfo.map((f) => spec.btf!.typeById(f.typeId).name);
  assert.equal(names, ['hidden_calls', 'fill', 'twice']);
});

test('a weak function overridden at static link time: its leftover code and relocation are skipped, calls go to the strong copy', () => {
  const spec = loadCollectionSpec(obj('weak_override'));
  for (const name of ['use_pick', 'use_pick_too']) {
    const p = spec.programs.get(name)!;
    assert.equal(p.subprograms, ['pick']);
    const start = p.instructions.findIndex((i) => i.symbol === 'pick');
    // the strong pick: r0 = r1; r0 += 100; exit (the weak one adds 1 and counts in .bss)
    assert.equal(p.instructions.slice(start).map((i) => [i.opcode, i.imm]), [[0xbf, 0], [0x07, 100], [0x95, 0]], name);
    assert.ok(!p.instructions.some((i) => i.reference?.kind === 'map'), `${name}: no reference to weak_calls`);
  }
});

test('a program in a section no table knows is kept without a type, with its section; a prog array slot may point at it', () => {
  const spec = loadCollectionSpec(obj('unknown_section'));
  const p = spec.programs.get('custom_prog')!;
  assert.is(p.type, undefined);
  assert.is(p.section, 'tsbpf/custom');
  assert.is(p.attachType, undefined);
  assert.ok(p.autoload, 'autoload stays on: loading it without a type fails, as in libbpf');
  assert.equal(spec.maps.get('jmp_table')!.contents, [{ key: 0, value: 'custom_prog' }]);
  assert.equal(spec.warnings.filter((w) => /tsbpf\/custom/.test(w)).length, 1);
});

test("cilium's long forms: <exact libbpf name>/<anything>, only where cilium's reading and the long form agree", () => {
  const cases: Array<[string, string | undefined, string?]> = [
    ['socket/tail', 'socket_filter'],
    ['sk_lookup/select', 'sk_lookup', 'sk_lookup'],
    ['xdp/prog', 'xdp', 'xdp'],
    ['tc/filter', 'sched_cls'],
    ['classifier/x', 'sched_cls'],
    ['cgroup/skb/egress', 'cgroup_skb'],
    ['cgroup/sock_create/x', 'cgroup_sock', 'cgroup_inet_sock_create'],
    ['sk_skb/stream_parser/x', 'sk_skb', 'sk_skb_stream_parser'],
    ['xdp.frags/x', 'xdp', 'xdp'],
    // ambiguous or not long forms: unknown
    ['xdp/devmap2', undefined], // cilium: xdp/devmap
    ['tcx/foo', undefined], // cilium: tc
    ['tc/ingress_v2', undefined], // cilium: tc/ingress (tcx)
    ['sk_skb/stream_parser_x', undefined],
    ['socket1', undefined],
    ['xdpfoo', undefined],
    ['socket/', undefined],
    ['tsbpf/custom', undefined],
  ];
  for (const [name, type, attach] of cases) {
    const def = programSectionDef(name);
    assert.is(def?.progType, type, name);
    assert.is(def?.attachType, attach, `${name}: attach type`);
    if (type) {
      assert.is(sectionDef(name), undefined, `${name}: libbpf 1.x does not know it`);
      assert.ok(def!.longForm, `${name}: marked as a long form`);
    }
  }
  // libbpf's own names are not long forms, and '?' still turns autoload off
  assert.is(longFormEntry('kprobe/do_sys_open'), undefined);
  assert.is(programSectionDef('xdp.frags')!.longForm, undefined);
  assert.is(programSectionDef('?socket/tail')!.autoload, false);
  // the flags of the row come with it
  assert.ok(programSectionDef('xdp.frags/x')!.xdpFrags);
});

test.run();
