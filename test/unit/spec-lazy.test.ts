// loadCollectionSpec checks everything at open but makes a program's instructions and
// .BTF.ext records only when they are first read. These tests hold the deferred path to
// the eager one: the checks give the same errors as decoding, each program gets lists of
// its own, and what is read later is what an eager parse gave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode, instructionOffsets, rawOffsets } from '../../src/asm/index.js';
import { Btf, checkBtfExt, parseBtfExt } from '../../src/btf/index.js';
import { parseElf } from '../../src/elf/index.js';
import { copySpec, loadCollectionSpec, TsbpfError } from '../../src/index.js';
import { rng } from '../helpers/mutate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => path.join(root, 'bpf-objs', name);

/** What fn throws (class name, message, offset), or its result. */
function outcome<T>(fn: () => T): { error?: string; value?: T } {
  try { return { value: fn() }; } catch (e) {
    assert.ok(e instanceof TsbpfError, `only TsbpfError: ${(e as Error).stack}`);
    return { error: `${e.name} ${e.offset} ${e.message}` };
  }
}

test('instructionOffsets checks bytes as decode does, and gives rawOffsets(decode(bytes))', () => {
  const r = rng(0x51a7);
  for (let k = 0; k < 3000; k++) {
    const b = new Uint8Array(Math.floor(r() * 64));
    // mostly plain instructions, some ld_imm64 (0x18) with good or broken second halves
    for (let i = 0; i < b.length; i++) b[i] = r() < 0.15 ? 0x18 : r() < 0.5 ? 0 : Math.floor(r() * 256);
    const opts = { file: 'x.o', section: 'xdp' };
    const want = outcome(() => rawOffsets(decode(b, opts)));
    const got = outcome(() => [...instructionOffsets(b, opts)]);
    assert.equal(got, want, `bytes ${Buffer.from(b).toString('hex')}`);
  }
});

test('checkBtfExt refuses exactly what parseBtfExt refuses, with the same error', () => {
  const r = rng(0xe47);
  for (const name of ['core.bpf.o', 'usdt.bpf.o', 'bpf2bpf.bpf.o', 'events.bpf.o']) {
    const elf = parseElf(readFileSync(fixture(name)), name);
    const btf = Btf.parse(elf.sectionByName('.BTF')!.data, { file: name });
    const ext = elf.sectionByName('.BTF.ext')!.data;
    for (let k = 0; k < 400; k++) {
      const b = Uint8Array.from(ext);
      for (let e = 1 + Math.floor(r() * 3); e > 0; e--) {
        const at = Math.floor(r() * b.length);
        b[at] = r() < 0.5 ? Math.floor(r() * 256) : b[at]! ^ (1 << Math.floor(r() * 8));
      }
      const want = outcome(() => parseBtfExt(b, btf, { file: name }));
      const got = outcome(() => checkBtfExt(b, btf, { file: name }));
      assert.is(got.error, want.error, `${name}, mutation ${k}`);
    }
  }
});

test('each program has lists of its own: changing one leaves a program sharing its subprograms alone', () => {
  const spec = loadCollectionSpec(fixture('bpf2bpf.bpf.o'));
  const a = spec.programs.get('calls_xdp')!, b = spec.programs.get('foreach_tc')!;
  assert.ok(a.subprograms.includes('square') && b.subprograms.includes('square'), 'both programs call square');
  assert.is(a.instructions, a.instructions, 'read twice: the same list');
  const before = b.instructions.map((i) => ({ ...i }));
  for (const i of a.instructions) { i.imm = 12345; i.off = 7; }
  for (const l of a.lineInfo) l.lineNum = 0;
  assert.equal(b.instructions.map((i) => ({ ...i })), before, "the other program's instructions are unchanged");
  assert.ok(b.lineInfo.every((l) => l.lineNum > 0), "the other program's line_info is unchanged");
  const again = loadCollectionSpec(fixture('bpf2bpf.bpf.o'));
  assert.equal(again.programs.get('foreach_tc')!.instructions, b.instructions, 'a second open reads the same');
  // replacing the lists
  a.instructions = a.instructions.slice(0, 2);
  a.funcInfo = [];
  assert.is(a.instructions.length, 2);
  assert.equal(a.funcInfo, []);
  // spreading and copySpec read the lists
  assert.is({ ...a }.instructions.length, 2);
  const copy = copySpec(again);
  assert.equal(encode(copy.programs.get('calls_xdp')!.instructions), encode(again.programs.get('calls_xdp')!.instructions));
  assert.is.not(copy.programs.get('calls_xdp')!.instructions, again.programs.get('calls_xdp')!.instructions);
});

test('a spec that opened reads whole: every program of every mutated object that still parses', () => {
  const r = rng(0x1a2);
  let parsed = 0;
  for (const name of ['bpf2bpf.bpf.o', 'core.bpf.o', 'usdt.bpf.o', 'tailcall_uretprobe.bpf.o', 'struct_ops.bpf.o']) {
    const orig = readFileSync(fixture(name));
    const elf = parseElf(orig, name);
    // damage only code and .BTF.ext: what open checks and the lists are made from
    const targets = elf.sections.filter((s) => s.name === '.BTF.ext' || (s.flags & 4) !== 0);
    for (let k = 0; k < 300; k++) {
      const b = Uint8Array.from(orig);
      const s = targets[Math.floor(r() * targets.length)]!;
      for (let e = 1 + Math.floor(r() * 3); e > 0; e--) b[s.offset + Math.floor(r() * s.size)] = Math.floor(r() * 256);
      let spec;
      try { spec = loadCollectionSpec(b, { file: name }); } catch (e) { assert.ok(e instanceof TsbpfError); continue; }
      parsed++;
      for (const p of spec.programs.values()) {
        assert.ok(Array.isArray(p.instructions) && Array.isArray(p.funcInfo) && Array.isArray(p.lineInfo) && Array.isArray(p.coreRelos), `${name} #${k}: ${p.name}`);
      }
    }
  }
  assert.ok(parsed > 100, `enough mutations still parse (${parsed})`);
});

test.run();
