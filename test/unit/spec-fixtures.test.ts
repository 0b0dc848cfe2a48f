// Every fixture object read into a CollectionSpec and compared with facts taken
// independently (from the C sources, llvm-objdump and bpftool) in fixture-facts.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode, loadCollectionSpec } from '../../src/index.js';
import { parseElf } from '../../src/elf/index.js';
import { fixtures } from './fixture-facts.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('every object in bpf-objs/ has facts', () => {
  const objs = readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')).map((f) => `bpf-objs/${f}`).sort();
  assert.equal(Object.values(fixtures).map((f) => f.file).sort(), objs);
});

for (const [name, fx] of Object.entries(fixtures)) {
  test(`fixture ${name}: programs, maps and contents`, () => {
    const spec = loadCollectionSpec(path.join(root, fx.file));
    assert.is(spec.license, fx.license, 'license');
    assert.is(spec.btf !== undefined, fx.btf, 'has BTF');
    assert.equal([...spec.programs.keys()].sort(), fx.programs.map((p) => p.name).sort(), 'program names');
    for (const pf of fx.programs) {
      const p = spec.programs.get(pf.name)!;
      assert.is(p.section, pf.section, `${pf.name}: section`);
      assert.is(p.type, pf.type, `${pf.name}: type`);
      assert.is(p.attachType, pf.attachType, `${pf.name}: attach type`);
      assert.is(p.autoload, pf.autoload ?? true, `${pf.name}: autoload`);
      assert.is(p.instructions.length, pf.insns, `${pf.name}: instructions after linking`);
      assert.equal(p.subprograms, pf.subprograms, `${pf.name}: subprograms`);
      // the linked program encodes, and decodes back to the same instructions
      const again = decode(encode(p.instructions));
      assert.is(again.length, p.instructions.length, `${pf.name}: encode/decode keeps the count`);
      // every bpf-to-bpf call lands on the first instruction of a linked function
      const slots: number[] = []; let s = 0;
      for (const i of p.instructions) { slots.push(s); s += i.opcode === 0x18 ? 2 : 1; }
      p.instructions.forEach((i, k) => {
        const ref = i.reference;
        if (!ref || (ref.kind !== 'call' && ref.kind !== 'func')) return;
        const target = slots.indexOf(slots[k]! + i.imm + 1);
        assert.ok(target >= 0, `${pf.name}: call at ${k} lands inside an instruction`);
        assert.is(p.instructions[target]!.symbol, ref.name, `${pf.name}: call at ${k} lands on ${ref.name}`);
      });
      if (fx.btf) {
        // func_info: one record per linked function, the first at instruction 0, each on a function start
        assert.is(p.funcInfo.length, 1 + pf.subprograms.length, `${pf.name}: func_info per function`);
        const starts = p.instructions.map((i, k) => (i.symbol ? slots[k] : -1)).filter((x) => x! >= 0);
        assert.equal(p.funcInfo.map((f) => f.insnOff), starts, `${pf.name}: func_info offsets are the function starts`);
        assert.ok(p.lineInfo.length > 0 && p.lineInfo[0]!.insnOff === 0, `${pf.name}: line_info starts at 0`);
        assert.ok(p.lineInfo.every((l) => l.insnOff < s), `${pf.name}: line_info inside the program`);
      } else {
        assert.is(p.funcInfo.length, 0);
      }
    }
    assert.equal([...spec.maps.keys()].sort(), fx.maps.map((m) => m.name).sort(), 'map names');
    for (const mf of fx.maps) {
      const m = spec.maps.get(mf.name)!;
      assert.is(m.type, mf.type, `${mf.name}: type`);
      assert.is(m.keySize, mf.keySize, `${mf.name}: key size`);
      assert.is(m.valueSize, mf.valueSize, `${mf.name}: value size`);
      assert.is(m.maxEntries, mf.maxEntries, `${mf.name}: max entries`);
      if (mf.flags !== undefined) assert.is(m.flags, mf.flags, `${mf.name}: flags`);
      if (mf.pinning !== undefined) assert.is(m.pinning, mf.pinning, `${mf.name}: pinning`);
      if (mf.mapExtra !== undefined) assert.is(m.mapExtra, BigInt(mf.mapExtra), `${mf.name}: map_extra`);
      if (mf.innerMap !== undefined) assert.is(m.innerMap?.name, mf.innerMap, `${mf.name}: inner map`);
      if (mf.section !== undefined) assert.is(m.section, mf.section, `${mf.name}: section`);
      assert.is(m.autocreate, mf.autocreate ?? true, `${mf.name}: autocreate`);
      assert.equal(m.contents ?? [], mf.contents ?? [], `${mf.name}: contents`);
    }
  });
}

test('the license is each object\'s own: other bytes of the same length, the same buffer rewritten, no NUL', () => {
  // loadCollectionSpec reuses the last license string when the bytes are the same
  const bytes = readFileSync(path.join(root, 'bpf-objs/bpf2bpf.bpf.o'));
  const lic = parseElf(bytes).sectionByName('license')!;
  const at = lic.offset;
  assert.is(bytes.toString('latin1', at, at + 4), 'GPL\0');
  const other = Buffer.from(bytes);
  other.write('BSD\0', at, 'latin1');
  assert.is(loadCollectionSpec(bytes).license, 'GPL');
  assert.is(loadCollectionSpec(other).license, 'BSD');
  assert.is(loadCollectionSpec(bytes).license, 'GPL');
  // the buffer last read, changed in place: its new text (nothing kept refers to it)
  bytes.write('MIT\0', at, 'latin1');
  assert.is(loadCollectionSpec(bytes).license, 'MIT');
  bytes.write('GPL\0', at, 'latin1');
  assert.is(loadCollectionSpec(bytes).license, 'GPL');
  // no NUL: the section's bytes (as many as it has)
  other.write('GPLx', at, 'latin1');
  assert.is(loadCollectionSpec(other).license, 'GPLx');
  other.write('GP\0x', at, 'latin1');
  assert.is(loadCollectionSpec(other).license, 'GP');
});

test.run();
