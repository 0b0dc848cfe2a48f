import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfError, TsbpfError } from '../../src/errors.js';
import {
  parseElf, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_NODYLD32, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_ABS,
  SHT_NOBITS, SHT_PROGBITS, SHT_REL, SHT_RELA, SHT_STRTAB, STB_GLOBAL, STB_LOCAL, STT_FILE, STT_FUNC, STT_OBJECT,
  STT_SECTION, type ElfFile,
} from '../../src/elf/index.js';
import { buildElf, cstr, type BuiltElf } from '../helpers/elf-builder.js';

/** A small object shaped like clang's output for a tail-call table. */
function sample(): BuiltElf {
  return buildElf({
    sections: [
      { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(0), addralign: 4 },
      { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(48).fill(0x18) },
      { name: '.maps', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(40) },
      { name: '.bss', type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, size: 16 },
      { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: cstr('GPL'), addralign: 1 },
      { name: '.BTF.ext', type: SHT_PROGBITS, data: new Uint8Array(16), addralign: 4 },
    ],
    symbols: [
      { name: 'prog.bpf.c', section: SHN_ABS, type: STT_FILE, bind: STB_LOCAL },
      { name: 'xdp_prog', section: 'xdp', type: STT_FUNC, bind: STB_GLOBAL, size: 48 },
      { name: 'jmp_table', section: '.maps', type: STT_OBJECT, bind: STB_GLOBAL, size: 40 },
      { name: 'counter', section: '.bss', type: STT_OBJECT, bind: STB_GLOBAL, size: 8, value: 8 },
      { name: 'LICENSE', section: 'license', type: STT_OBJECT, bind: STB_GLOBAL, size: 4 },
      { name: '', section: 'xdp', type: STT_SECTION, bind: STB_LOCAL },
    ],
    rels: [
      { section: 'xdp', offset: 0, symbol: 'jmp_table', type: R_BPF_64_64 },
      { section: 'xdp', offset: 16, symbol: 'counter', type: R_BPF_64_64 },
      { section: '.maps', offset: 32, symbol: 'xdp_prog', type: R_BPF_64_ABS64 },
      { section: '.BTF.ext', offset: 12, symbol: 6, type: R_BPF_64_NODYLD32 },
    ],
  });
}

/** Runs fn, which must throw an ElfError (a TsbpfError) whose message matches re. */
function throwsElf(fn: () => unknown, re: RegExp): ElfError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught !== undefined, `expected an ElfError matching ${re}, nothing was thrown`);
  assert.instance(caught, ElfError, `expected ElfError, got ${String(caught)}`);
  assert.instance(caught, TsbpfError);
  assert.match((caught as Error).message, re);
  return caught as ElfError;
}

test('parses a well-formed object: sections, symbols, relocations', () => {
  const b = sample();
  const f: ElfFile = parseElf(b.bytes, 'prog.o');
  assert.is(f.file, 'prog.o');
  assert.is(f.bytes, b.bytes);
  assert.equal(f.sections.map((s) => s.name),
    ['', '.text', 'xdp', '.maps', '.bss', 'license', '.BTF.ext', '.relxdp', '.rel.maps', '.rel.BTF.ext', '.symtab', '.strtab', '.shstrtab']);
  f.sections.forEach((s, i) => assert.is(s.index, i));
  const xdp = f.sectionByName('xdp')!;
  assert.is(xdp.type, SHT_PROGBITS);
  assert.is(xdp.flags, SHF_ALLOC | SHF_EXECINSTR);
  assert.is(xdp.size, 48);
  assert.is(xdp.data.length, 48);
  assert.is(xdp.data[0], 0x18);
  assert.is(xdp.offset, b.section('xdp').offset);
  assert.is(f.sectionByName('.text')!.data.length, 0);
  assert.is(new TextDecoder().decode(f.sectionByName('license')!.data), 'GPL\0');
  assert.is(f.sectionByName('.symtab')!.entsize, 24);
  assert.is(f.sectionByName('.symtab')!.addralign, 8);
  assert.is(f.sectionByName('.shstrtab')!.type, SHT_STRTAB);
  assert.is(f.sectionByName('nope'), undefined);

  assert.is(f.symbols.length, 7);
  assert.equal(f.symbols[0], { index: 0, name: '', value: 0, size: 0, type: 0, bind: 0, visibility: 0, shndx: 0 });
  const byName = (n: string) => f.symbols.find((s) => s.name === n)!;
  assert.equal(byName('prog.bpf.c'), { index: 1, name: 'prog.bpf.c', value: 0, size: 0, type: STT_FILE, bind: STB_LOCAL, visibility: 0, shndx: SHN_ABS });
  assert.is(byName('xdp_prog').shndx, xdp.index);
  assert.is(byName('xdp_prog').type, STT_FUNC);
  assert.is(byName('xdp_prog').bind, STB_GLOBAL);
  assert.is(byName('counter').value, 8);
  assert.is(byName('jmp_table').size, 40);

  assert.equal(f.relocations.map((r) => [r.section.name, r.target.name, r.entries.length]),
    [['.relxdp', 'xdp', 2], ['.rel.maps', '.maps', 1], ['.rel.BTF.ext', '.BTF.ext', 1]]);
  assert.equal(f.relocations[0]!.entries[0], { offset: 0, type: R_BPF_64_64, symbol: b.symbolIndex('jmp_table') });
  assert.equal(f.relocations[1]!.entries[0], { offset: 32, type: R_BPF_64_ABS64, symbol: b.symbolIndex('xdp_prog') });
  assert.is(f.relocations[0]!.section.type, SHT_REL);
});

test('section data are views of the input, not copies; NOBITS data is empty', () => {
  const b = sample();
  const f = parseElf(b.bytes);
  const maps = f.sectionByName('.maps')!;
  assert.is(maps.data.buffer, b.bytes.buffer);
  assert.is(maps.data.byteOffset, b.section('.maps').offset);
  const bss = f.sectionByName('.bss')!;
  assert.is(bss.type, SHT_NOBITS);
  assert.is(bss.size, 16);
  assert.is(bss.data.length, 0);
});

test('accepts a Uint8Array view at a non-zero offset of a larger buffer', () => {
  const b = sample();
  const big = new Uint8Array(b.bytes.length + 100);
  big.set(b.bytes, 37);
  const f = parseElf(big.subarray(37, 37 + b.bytes.length));
  assert.is(f.sectionByName('license')!.data[0], 0x47);
  assert.is(f.symbols.length, 7);
});

test('SHT_RELA sections are listed but not interpreted (like libbpf)', () => {
  const b = buildElf({
    sections: [
      { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(16) },
      // garbage link/info/entsize: would be errors in a REL section
      { name: '.rela.xdp', type: SHT_RELA, data: new Uint8Array(24).fill(0xff), link: 99, info: 99, entsize: 24 },
    ],
    symbols: [{ name: 'p', section: 'xdp', type: STT_FUNC }],
  });
  const f = parseElf(b.bytes);
  assert.is(f.sectionByName('.rela.xdp')!.type, SHT_RELA);
  assert.is(f.relocations.length, 0);
});

test('object without a symbol table: no symbols', () => {
  const b = buildElf({ sections: [{ name: 'license', type: SHT_PROGBITS, data: cstr('GPL') }], symtab: false });
  const f = parseElf(b.bytes);
  assert.equal(f.symbols, []);
  assert.equal(f.relocations, []);
});

// ---- malformed objects: each must be an ElfError naming the problem

test('malformed: truncated header', () => {
  const b = sample();
  throwsElf(() => parseElf(b.bytes.subarray(0, 40), 'x.o'), /^x\.o: truncated ELF header: file is 40 bytes, an ELF64 header needs 64/);
  throwsElf(() => parseElf(new Uint8Array(0)), /truncated ELF header: file is 0 bytes/);
});

test('malformed: bad magic', () => {
  const b = sample();
  b.poke(1, 1, 0x58);
  throwsElf(() => parseElf(b.bytes), /bad magic: not an ELF file.*got 7f 58 4c 46/);
  throwsElf(() => parseElf(new TextEncoder().encode('#!/bin/sh\necho hi\n')), /bad magic/);
});

test('malformed: ELF32 and invalid class', () => {
  const b = sample();
  b.setHeader('class', 1);
  throwsElf(() => parseElf(b.bytes), /ELF32 \(EI_CLASS 1\) objects are not supported/);
  b.setHeader('class', 7);
  throwsElf(() => parseElf(b.bytes), /invalid ELF class 7/);
});

test('malformed: big-endian', () => {
  const b = sample();
  b.setHeader('data', 2);
  const e = throwsElf(() => parseElf(b.bytes, 'be.o'),
    /big-endian objects are not supported: rebuild with -target bpfel \/ bpf on a little-endian host/);
  assert.is(e.file, 'be.o');
});

test('malformed: wrong machine names it', () => {
  const b = sample();
  b.setHeader('machine', 62);
  throwsElf(() => parseElf(b.bytes), /not a BPF object: e_machine is 62 \(x86-64\), expected 247 \(EM_BPF\)/);
  b.setHeader('machine', 183);
  throwsElf(() => parseElf(b.bytes), /e_machine is 183 \(AArch64\)/);
  b.setHeader('machine', 9999);
  throwsElf(() => parseElf(b.bytes), /e_machine is 9999 \(unknown\)/);
});

test('malformed: not ET_REL', () => {
  const b = sample();
  b.setHeader('type', 2);
  throwsElf(() => parseElf(b.bytes), /not a relocatable object: e_type is 2 \(ET_EXEC\), expected 1 \(ET_REL\)/);
  b.setHeader('type', 3);
  throwsElf(() => parseElf(b.bytes), /e_type is 3 \(ET_DYN\)/);
});

test('malformed: e_shentsize wrong', () => {
  const b = sample();
  b.setHeader('shentsize', 40);
  throwsElf(() => parseElf(b.bytes), /e_shentsize is 40, expected 64/);
});

test('malformed: no section header table / extended numbering', () => {
  const b = sample();
  b.setHeader('shnum', 0);
  throwsElf(() => parseElf(b.bytes), /extended section numbering .* not supported/);
  b.setHeader('shoff', 0);
  throwsElf(() => parseElf(b.bytes), /no section header table/);
});

test('malformed: section header table beyond the file', () => {
  const b = sample();
  b.setHeader('shoff', b.bytes.length - 64);
  throwsElf(() => parseElf(b.bytes), new RegExp(`section header table \\(e_shoff ${b.bytes.length - 64}, 13 entries of 64 bytes\\) is beyond the end of the file \\(${b.bytes.length} bytes\\)`));
  b.setHeader('shoff', 2n ** 64n - 8n);
  throwsElf(() => parseElf(b.bytes), /e_shoff 18446744073709551608,.* beyond the end of the file/);
  const c = sample();
  c.setHeader('shnum', 200);
  throwsElf(() => parseElf(c.bytes), /200 entries of 64 bytes\) is beyond the end of the file/);
});

test("malformed: a section's bytes beyond the file (named)", () => {
  const b = sample();
  b.setSection('.maps', 'size', 1 << 20);
  const e = throwsElf(() => parseElf(b.bytes, 'p.o'), /^p\.o, section \.maps: section bytes \[\d+, \d+\) \(sh_offset \d+, sh_size 1048576\) extend beyond the end of the file/);
  assert.is(e.section, '.maps');
  const c = sample();
  c.setSection('license', 'offset', c.bytes.length);
  throwsElf(() => parseElf(c.bytes), /section license: section bytes .* beyond the end of the file/);
  const d = sample();
  d.setSection('.shstrtab', 'size', 100000);
  throwsElf(() => parseElf(d.bytes), /section name table \(section 12\): section bytes .* beyond the end/);
});

test('malformed: 64-bit sizes above 2^53 are reported exactly', () => {
  const b = sample();
  b.setSection('xdp', 'size', 2n ** 64n - 1n);
  throwsElf(() => parseElf(b.bytes), /section xdp: sh_size 18446744073709551615 is too large/);
  const c = sample();
  c.setSection('.symtab', 'entsize', 2n ** 53n);
  throwsElf(() => parseElf(c.bytes), /section \.symtab: sh_entsize 9007199254740992 is too large/);
});

test('SHT_NOBITS sections are not bounds-checked against the file', () => {
  const b = sample();
  b.setSection('.bss', 'size', 1 << 30);
  b.setSection('.bss', 'offset', 1 << 30);
  const f = parseElf(b.bytes);
  assert.is(f.sectionByName('.bss')!.size, 1 << 30);
  assert.is(f.sectionByName('.bss')!.data.length, 0);
});

test('malformed: e_shstrndx out of range or not a STRTAB', () => {
  const b = sample();
  b.setHeader('shstrndx', 99);
  throwsElf(() => parseElf(b.bytes), /e_shstrndx 99 is out of range \(section name table index must be 1\.\.12\)/);
  b.setHeader('shstrndx', 0);
  throwsElf(() => parseElf(b.bytes), /e_shstrndx 0 is out of range/);
  b.setHeader('shstrndx', 0xffff);
  throwsElf(() => parseElf(b.bytes), /SHN_XINDEX\) is not supported/);
  b.setHeader('shstrndx', b.sectionIndex('xdp'));
  throwsElf(() => parseElf(b.bytes), /e_shstrndx 2 points at a section of type 1, not SHT_STRTAB/);
});

test('malformed: section name offset out of range / unterminated', () => {
  const b = sample();
  b.setSection('.maps', 'name', 5000);
  const e = throwsElf(() => parseElf(b.bytes), /section 3: name offset 5000 is beyond the section name table \(\d+ bytes\)/);
  assert.is(e.section, '#3');
  const c = sample();
  const shstr = c.section('.shstrtab');
  c.poke(shstr.offset + shstr.size - 1, 1, 0x41); // last name loses its NUL
  throwsElf(() => parseElf(c.bytes), /name at offset \d+ of the section name table is not NUL-terminated/);
});

test('malformed: symbol table entsize / size / link', () => {
  const b = sample();
  b.setSection('.symtab', 'entsize', 16);
  throwsElf(() => parseElf(b.bytes), /section \.symtab: symbol table sh_entsize is 16, expected 24/);
  const c = sample();
  c.setSection('.symtab', 'size', 24 * 3 + 5);
  throwsElf(() => parseElf(c.bytes), /section \.symtab: symbol table size 77 is not a multiple of 24/);
  const d = sample();
  d.setSection('.symtab', 'link', d.sectionIndex('xdp'));
  throwsElf(() => parseElf(d.bytes), /section \.symtab: symbol table sh_link 2 is not a string table/);
  d.setSection('.symtab', 'link', 500);
  throwsElf(() => parseElf(d.bytes), /symbol table sh_link 500 is not a string table/);
});

test('malformed: two symbol tables', () => {
  const b = sample();
  b.setSection('.BTF.ext', 'type', 2);
  throwsElf(() => parseElf(b.bytes), /more than one symbol table/);
});

test('malformed: symbol name offset out of range', () => {
  const b = sample();
  b.setSymbol('jmp_table', 'name', 7777);
  const i = b.symbolIndex('jmp_table');
  assert.is(i, 4); // after the null symbol and the two locals
  const e = throwsElf(() => parseElf(b.bytes), /section \.symtab, offset 96 \(0x60\): symbol #4: name offset 7777 is beyond string table \.strtab \(\d+ bytes\)/);
  assert.is(e.offset, 96);
});

test('malformed: symbol st_shndx out of range (names the symbol)', () => {
  const b = sample();
  b.setSymbol('jmp_table', 'shndx', 99);
  const e = throwsElf(() => parseElf(b.bytes), /symbol jmp_table .*st_shndx 99 \(0x63\) is out of range \(the object has 13 sections\)/);
  assert.is(e.symbol, 'jmp_table');
  b.setSymbol('jmp_table', 'shndx', 0xffff);
  throwsElf(() => parseElf(b.bytes), /symbol jmp_table \(#4\): st_shndx 65535 \(0xffff\) is a reserved index that is not supported/);
});

test('malformed: REL section with a wrong target (sh_info) or symtab (sh_link)', () => {
  const b = sample();
  b.setSection('.relxdp', 'info', 77);
  const e = throwsElf(() => parseElf(b.bytes), /section \.relxdp: REL section sh_info 77 is not a valid target section \(out of range: the object has 13 sections\)/);
  assert.is(e.section, '.relxdp');
  b.setSection('.relxdp', 'info', 0);
  throwsElf(() => parseElf(b.bytes), /section \.relxdp: REL section sh_info 0 is not a valid target section \(it is the null section \/ SHT_NULL\)/);
  const c = sample();
  c.setSection('.rel.maps', 'link', c.sectionIndex('.strtab'));
  throwsElf(() => parseElf(c.bytes), /section \.rel\.maps: REL section sh_link 11 is not the symbol table \(section 10\)/);
});

test('malformed: REL entsize / size', () => {
  const b = sample();
  b.setSection('.relxdp', 'entsize', 24);
  throwsElf(() => parseElf(b.bytes), /section \.relxdp: REL section sh_entsize is 24, expected 16/);
  const c = sample();
  c.setSection('.relxdp', 'size', 20);
  throwsElf(() => parseElf(c.bytes), /section \.relxdp: REL section size 20 is not a multiple of 16/);
});

test('malformed: REL entry with symbol index out of range', () => {
  const b = sample();
  b.setRel('xdp', 1, 'sym', 42);
  const e = throwsElf(() => parseElf(b.bytes), /section \.relxdp, offset 16 \(0x10\): relocation #1: symbol index 42 is out of range \(7 symbols\)/);
  assert.is(e.offset, 16);
});

test('malformed: r_offset beyond the target section (names REL section and offset)', () => {
  const b = sample();
  b.setRel('xdp', 0, 'offset', 4096);
  throwsElf(() => parseElf(b.bytes), /section \.relxdp, offset 0 \(0x0\): relocation #0: r_offset 4096 \(R_BPF_64_64, 8 bytes\) is beyond the end of target section xdp \(48 bytes\)/);
  const c = sample();
  c.setRel('.maps', 0, 'offset', 36); // 8-byte ABS64 at 36 of a 40-byte section
  throwsElf(() => parseElf(c.bytes), /section \.rel\.maps.*r_offset 36 \(R_BPF_64_ABS64, 8 bytes\) is beyond the end of target section \.maps \(40 bytes\)/);
  const d = sample();
  d.setRel('.maps', 0, 'offset', 2n ** 63n);
  throwsElf(() => parseElf(d.bytes), /r_offset 9223372036854775808 .* beyond the end of target section \.maps/);
});

test('REL entries of sections libbpf ignores (.rel.BTF.ext, .rel.debug_*) are checked on first access of entries', () => {
  const b = sample();
  b.setRel('.BTF.ext', 0, 'offset', 4096);
  const f = parseElf(b.bytes); // no error yet: .BTF.ext is not executable, not .maps / maps / .struct_ops*
  const rs = f.relocations.find((r) => r.section.name === '.rel.BTF.ext')!;
  assert.is(rs.target.name, '.BTF.ext');
  const e = throwsElf(() => rs.entries, /section \.rel\.BTF\.ext, offset 0 \(0x0\): relocation #0: r_offset 4096 .* beyond the end of target section \.BTF\.ext \(16 bytes\)/);
  assert.is(e.offset, 0);
  throwsElf(() => rs.entries, /r_offset 4096/); // not cached when it failed
  const c = sample();
  c.setRel('.BTF.ext', 0, 'sym', 42);
  throwsElf(() => parseElf(c.bytes).relocations[2]!.entries, /section \.rel\.BTF\.ext.*symbol index 42 is out of range \(7 symbols\)/);
  // Header checks stay eager for every REL section.
  const d = sample();
  d.setSection('.rel.BTF.ext', 'entsize', 24);
  throwsElf(() => parseElf(d.bytes), /section \.rel\.BTF\.ext: REL section sh_entsize is 24, expected 16/);
  // Good entries read the same lazily, and are cached.
  const g = parseElf(sample().bytes).relocations[2]!;
  assert.is(g.entries.length, 1);
  assert.is(g.entries, g.entries);
});

test('r_offset exactly at the end of the target is accepted', () => {
  const b = sample();
  b.setRel('.maps', 0, 'offset', 32); // last 8 bytes
  assert.is(parseElf(b.bytes).relocations[1]!.entries[0]!.offset, 32);
});

// ---- robustness

test('truncating a valid object at every length only ever throws ElfError', () => {
  const b = sample();
  const bytes = b.bytes;
  for (let n = 0; n < bytes.length; n++) {
    try {
      parseElf(bytes.slice(0, n), 'cut.o');
      assert.unreachable(`truncation at ${n} of ${bytes.length} parsed`);
    } catch (e) {
      if (!(e instanceof ElfError)) throw new Error(`truncation at ${n}: ${String(e)}`);
      assert.ok(e.file === 'cut.o');
    }
  }
  parseElf(bytes.slice(0, bytes.length)); // and the full length parses
});

test('random corruption only ever parses or throws ElfError', () => {
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 2 ** 32; };
  const good = sample().bytes;
  let threw = 0;
  for (let round = 0; round < 3000; round++) {
    const bytes = good.slice();
    const flips = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < flips; k++) {
      // bias towards the header, section table, symtab and rels where the structure is
      const at = rnd() < 0.5 ? Math.floor(rnd() * 64) : Math.floor(rnd() * bytes.length);
      bytes[at] = rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256);
    }
    try {
      parseElf(bytes);
    } catch (e) {
      if (!(e instanceof ElfError)) throw new Error(`round ${round}: ${String(e)}`);
      threw++;
    }
  }
  assert.ok(threw > 100, `only ${threw} corruptions were rejected`);
});

test('random section header / symbol / rel field values only ever parse or throw ElfError', () => {
  let seed = 0x9e3779b9;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 2 ** 32; };
  const values: (number | bigint)[] = [0, 1, 3, 8, 16, 24, 63, 64, 0xff00, 0xfff1, 0xffff, 2 ** 31, 2 ** 32 - 1,
    2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
  const shdr = ['name', 'type', 'offset', 'size', 'link', 'info', 'addralign', 'entsize'] as const;
  const sym = ['name', 'info', 'shndx', 'value', 'size'] as const;
  const rel = ['offset', 'type', 'sym'] as const;
  for (let round = 0; round < 2000; round++) {
    const b = sample();
    const v = () => values[Math.floor(rnd() * values.length)]!;
    const pick = rnd();
    try {
      if (pick < 0.5) b.setSection(Math.floor(rnd() * b.sections.length), shdr[Math.floor(rnd() * shdr.length)]!, v());
      else if (pick < 0.75) b.setSymbol(Math.floor(rnd() * 7), sym[Math.floor(rnd() * sym.length)]!, v());
      else b.setRel('xdp', Math.floor(rnd() * 2), rel[Math.floor(rnd() * rel.length)]!, v());
      parseElf(b.bytes);
    } catch (e) {
      if (!(e instanceof ElfError)) throw new Error(`round ${round}: ${String(e)}`);
    }
  }
});

// ---- real objects, when the fixtures have been built

const objDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bpf-objs');
const objs = existsSync(objDir) ? readdirSync(objDir).filter((f) => f.endsWith('.bpf.o')) : [];
if (objs.length > 0) {
  test(`parses every bpf-objs/*.bpf.o (${objs.length})`, () => {
    for (const name of objs) {
      const f = parseElf(readFileSync(path.join(objDir, name)), name);
      const lic = f.sectionByName('license');
      assert.ok(lic, `${name}: no license section`);
      assert.is(lic!.data[lic!.data.length - 1], 0, `${name}: license is not NUL-terminated`);
      assert.ok(f.sectionByName('.text'), `${name}: no .text`);
      assert.ok(f.symbols.some((s) => s.name === 'LICENSE' || s.name === '_license'), `${name}: no license symbol`);
      const maps = f.sectionByName('.maps');
      if (maps) {
        assert.ok(f.symbols.some((s) => s.shndx === maps.index && s.type === STT_OBJECT), `${name}: no map symbols in .maps`);
      }
      for (const s of f.symbols) assert.ok(s.shndx < f.sections.length || s.shndx >= 0xff00, `${name}: ${s.name}`);
      for (const r of f.relocations) assert.ok(r.entries.every((e) => e.offset < r.target.size), `${name}: ${r.section.name}`);
      assert.ok(f.sections.filter((s) => s.type === SHT_PROGBITS && s.flags & SHF_EXECINSTR).length >= 1, `${name}: no code`);
    }
  });

  test('tail-call tables in bpf-objs: .rel.maps entries are R_BPF_64_ABS64 against programs inside a map symbol', () => {
    let seen = 0;
    for (const name of objs) {
      const f = parseElf(readFileSync(path.join(objDir, name)), name);
      const rel = f.relocations.find((r) => r.target.name === '.maps');
      if (!rel) continue;
      for (const e of rel.entries) {
        assert.is(e.type, R_BPF_64_ABS64, `${name}: .rel.maps type`);
        const sym = f.symbols[e.symbol]!;
        assert.ok(sym.type === STT_FUNC || sym.type === STT_OBJECT, `${name}: .rel.maps symbol ${sym.name}`);
        const holder = f.symbols.find((s) => s.shndx === rel.target.index && s.type === STT_OBJECT && s.value <= e.offset && e.offset < s.value + s.size);
        assert.ok(holder, `${name}: r_offset ${e.offset} is inside no map symbol`);
        seen++;
      }
    }
    assert.ok(seen > 0, 'no .rel.maps entries in any fixture');
  });

  // llvm-readelf as an independent oracle, when it is installed
  const readelf = (args: string[]) => spawnSync('llvm-readelf', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (readelf(['--version']).status === 0) {
    test('bpf-objs/*.bpf.o agree with llvm-readelf (sections, symbols, relocations)', () => {
      for (const name of objs) {
        const file = path.join(objDir, name);
        const f = parseElf(readFileSync(file), name);
        type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const json = (flag: string): Json => Object.values((JSON.parse(readelf(['--elf-output-style=JSON', flag, file]).stdout) as Json[])[0]!)[0];
        const secs = (json('-S').Sections as Json[]).map((x) => x.Section);
        assert.equal(f.sections.map((s) => [s.index, s.name, s.type, s.flags, s.offset, s.size, s.link, s.info, s.addralign, s.entsize]),
          secs.map((x) => [x.Index, x.Name.Value, x.Type.RawValue, x.Flags.RawFlags, x.Offset, x.Size, x.Link, x.Info, x.AddressAlignment, x.EntrySize]),
          `${name}: sections`);
        // llvm-readelf prints unnamed section symbols with their section's name, and
        // st_other as a number when it is 0, else as { RawFlags, Flags } (llvm 14; { Value, Flags } in llvm 19)
        const other = (o: number | { RawFlags?: number; Value?: number }) => (typeof o === 'number' ? o : o.RawFlags ?? o.Value ?? -1) & 3;
        const syms = (json('--symbols').Symbols as Json[]).map((x) => x.Symbol);
        assert.equal(f.symbols.map((s) => [s.name, s.value, s.size, s.bind, s.type, s.visibility, s.shndx]),
          syms.map((x) => [x.Name.RawValue === 0 ? '' : x.Name.Value, x.Value, x.Size, x.Binding.RawValue, x.Type.RawValue, other(x.Other), x.Section.RawValue]),
          `${name}: symbols`);
        // text output: "Relocation section '.relxdp' ..." then "offset info type value name" rows
        const rels: [string, string[]][] = [];
        for (const line of readelf(['-r', file]).stdout.split('\n')) {
          const head = /^Relocation section '(.+)' at offset/.exec(line);
          if (head) { rels.push([head[1]!, []]); continue; }
          const row = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s/.exec(line);
          if (row) rels[rels.length - 1]![1].push(`${BigInt('0x' + row[1])}:${row[2]}`);
        }
        assert.equal(f.relocations.map((r) => [r.section.name, r.entries.map((e) =>
          `${e.offset}:${((BigInt(e.symbol) << 32n) | BigInt(e.type)).toString(16).padStart(16, '0')}`)]), rels, `${name}: relocations`);
      }
    });
  }
}

test.run();
