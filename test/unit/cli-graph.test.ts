// The CLI's static tail-call graph (src/cli/graph.ts) on the fixtures and on hand-made
// instruction lists. Pure: no privileges.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../../src/spec/index.js';
import type { Instruction } from '../../src/asm/types.js';
import type { CollectionSpec, ProgramSpec } from '../../src/spec/types.js';
import { tailCallGraph, tailCallSites } from '../../src/cli/graph.js';

const objs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bpf-objs');
const spec = (name: string) => loadCollectionSpec(path.join(objs, `${name}.bpf.o`));

test('uretprobe: r3 = 146, or 135 on the other branch: both slots, both filled', () => {
  const g = tailCallGraph(spec('tailcall_uretprobe'));
  assert.equal(g.sites.map((s) => [s.program, s.map, s.slots]), [['uretprobe_entry', 'jmp_table', [135, 146]]]);
  assert.equal(g.edges.map((e) => `${e.from} -> ${e.map}[${e.slot}] -> ${e.to}`), [
    'uretprobe_entry -> jmp_table[135] -> handle_odd', 'uretprobe_entry -> jmp_table[146] -> handle_even']);
  assert.equal(g.findings, []);
});

test('xdp: constant slot 0 of an empty table is pointed out', () => {
  const g = tailCallGraph(spec('tailcall_xdp'));
  assert.equal(g.edges, [{ from: 'xdp_entry', map: 'xdp_progs', slot: 0, insn: 3 }]);
  assert.equal(g.findings.length, 1);
  assert.match(g.findings[0]!, /xdp_progs\[0\]: called by xdp_entry .* nothing fills it: the tail call falls through/);
});

test('kprobe / raw_tp dispatchers: index from the context is [*], every filled slot reachable', () => {
  const k = tailCallGraph(spec('tailcall_kprobe'));
  assert.equal(k.sites.map((s) => s.slots), ['*']);
  assert.equal(k.edges.map((e) => [e.to, e.slots]), [['handle_read', [0]], ['handle_write', [1]], ['handle_open', [2, 257]]]);
  assert.equal(k.findings, []);
  const r = tailCallGraph(spec('tailcall_rawtp'));
  assert.equal(r.edges.find((e) => e.to === 'handle_ignore')?.slots, [24, 35, 39, 186]);
});

test('tailcall_run: tail_loop calls its own slot 5, run_entry [*]', () => {
  const g = tailCallGraph(spec('tailcall_run'));
  assert.equal(g.sites.map((s) => [s.program, s.slots]), [['tail_loop', [5]], ['run_entry', '*']]);
  assert.ok(g.edges.some((e) => e.from === 'tail_loop' && e.slot === 5 && e.to === 'tail_loop'));
});

test('objects without tail calls: no sites; a filled table nobody calls is pointed out', () => {
  for (const f of ['bpf2bpf', 'map_types', 'global_data', 'nobtf', 'map_in_map']) assert.equal(tailCallGraph(spec(f)).sites, [], f);
  const s = spec('tailcall_uretprobe');
  s.programs.delete('uretprobe_entry');
  const g = tailCallGraph(s);
  assert.equal(g.findings, [
    'jmp_table[135] -> handle_odd: filled, but no tail call in this object reaches it (nothing here tail-calls through jmp_table)',
    'jmp_table[146] -> handle_even: filled, but no tail call in this object reaches it (nothing here tail-calls through jmp_table)',
  ]);
});

// hand-made programs
const I = (opcode: number, dst = 0, src = 0, off = 0, imm = 0, extra: Partial<Instruction> = {}): Instruction => ({ opcode, dst, src, off, imm, ...extra });
const ldMap = (dst: number, name: string) => I(0x18, dst, 1, 0, 0, { imm64: 0n, reference: { kind: 'map', name } });
const mov64 = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm);
const mov32 = (dst: number, imm: number) => I(0xb4, dst, 0, 0, imm);
const tail = I(0x85, 0, 0, 0, 12);
const exit = I(0x95);
const prog = (instructions: Instruction[]): ProgramSpec => ({
  name: 'p', section: 'xdp', type: 'xdp', flags: 0, sleepable: false, autoload: true, instructions, subprograms: [],
  license: 'GPL', kernelVersion: 0, funcInfo: [], lineInfo: [], coreRelos: [],
});

test('w3 = K, arithmetic on constants, r3 copied from another register', () => {
  assert.equal(tailCallSites(prog([ldMap(2, 't'), mov32(3, 7), tail, exit]))[0]!.slots, [7]);
  assert.equal(tailCallSites(prog([ldMap(2, 't'), mov64(4, 3), I(0x07, 4, 0, 0, 2), I(0xbf, 3, 4), tail, exit]))[0]!.slots, [5]);
  // r3 = *(u32 *)(r1 + 0): unknown
  assert.equal(tailCallSites(prog([ldMap(2, 't'), I(0x61, 3, 1), tail, exit]))[0]!.slots, '*');
});

test('a helper call in between clobbers r1-r5; r6-r9 survive', () => {
  const viaR6 = prog([mov64(6, 9), I(0x85, 0, 0, 0, 5), ldMap(2, 't'), I(0xbf, 3, 6), tail, exit]);
  assert.equal(tailCallSites(viaR6)[0]!.slots, [9]);
  const clobbered = prog([ldMap(2, 't'), mov64(3, 9), I(0x85, 0, 0, 0, 5), tail, exit]);
  const s = tailCallSites(clobbered)[0]!;
  assert.is(s.map, undefined);
  assert.is(s.slots, '*');
});

test('loops terminate; a map chosen on a branch gives both maps', () => {
  // r3 = 0; loop: r3 += 1; if r3 < 100 goto loop; tail call
  const loop = prog([ldMap(2, 't'), mov64(3, 0), I(0x07, 3, 0, 0, 1), I(0xa5, 3, 0, -2, 100), tail, exit]);
  assert.is(tailCallSites(loop)[0]!.slots, '*');
  const two = prog([ldMap(2, 'a'), I(0x15, 1, 0, 2, 0), ldMap(2, 'b'), mov64(3, 1), tail, exit]);
  assert.equal(tailCallSites(two).map((s) => s.map), ['a', 'b']);
});

test('slot beyond max_entries is pointed out', () => {
  const s: CollectionSpec = {
    file: 'x.o', license: 'GPL', kernelVersion: 0, warnings: [],
    maps: new Map([['t', { name: 't', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, numaNode: 0, pinning: 0, mapExtra: 0n, keyType: 0, valueType: 0, kind: 'btf', section: '.maps', autocreate: true, contents: [{ key: 1, value: 'p' }] }]]),
    programs: new Map([['p', prog([ldMap(2, 't'), mov64(3, 1), I(0x15, 1, 0, 1, 0), mov64(3, 8), tail, exit])]]),
  };
  const g = tailCallGraph(s);
  assert.equal(g.edges.map((e) => [e.slot, e.to]), [[1, 'p'], [8, undefined]]);
  assert.match(g.findings.join('\n'), /t\[8\]: called by p \(insn \d+\) but beyond max_entries 4/);
});

test.run();
