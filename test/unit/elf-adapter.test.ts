// One test per elfy defect listed at the top of src/elf/section-table.ts: each shows what
// elfy itself answers, then that tsbpf's own reader (through parseElf) answers correctly.
// (tsbpf read the section table through elfy first; these tests stay as a comparison.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import elfy from 'elfy';
import { ElfError, TsbpfError } from '../../src/errors.js';
import { parseElf, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, STB_GLOBAL, STT_FUNC, STT_OBJECT } from '../../src/elf/index.js';
import { machineName, readSectionTable } from '../../src/elf/section-table.js';
import { buildElf, cstr, type BuiltElf } from '../helpers/elf-builder.js';

function sample(): BuiltElf {
  return buildElf({
    sections: [
      { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array(16) },
      { name: '.bss', type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, size: 16 },
      { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: cstr('GPL'), addralign: 1 },
      { name: '.maps', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(32) },
    ],
    symbols: [
      { name: 'prog', section: 'xdp', type: STT_FUNC, bind: STB_GLOBAL, size: 16 },
      { name: 'm', section: '.maps', type: STT_OBJECT, bind: STB_GLOBAL, size: 32 },
    ],
  });
}

/** elfy's own view of the section table (header + sections, names unresolved). */
function elfySections(bytes: Uint8Array) {
  const p = new elfy.Parser();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return p.parseSections(buf, p.parseHeader(buf));
}

/** A Buffer over the same memory (what elfy needs). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function caught(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  return undefined;
}

test('defect 1: sh_addralign / sh_entsize read at 46/54 by elfy, 48/56 by tsbpf', () => {
  const b = sample();
  const i = b.sectionIndex('.symtab');
  const raw = elfySections(b.bytes)[i]!;
  // elfy mixes in neighbouring bytes: addralign 8 << 16, entsize 24 << 16
  assert.is(raw.addralign, 8 * 65536);
  assert.is(raw.entsize, 24 * 65536);
  const symtab = parseElf(b.bytes).sections[i]!;
  assert.is(symtab.addralign, 8);
  assert.is(symtab.entsize, 24);
  // and with non-zero high halves of sh_info, elfy's value changes while ours does not
  b.setSection('.symtab', 'info', 0x00030001);
  assert.is.not(elfySections(b.bytes)[i]!.addralign, 8 * 65536);
  assert.is(readSectionTable(b.bytes, 'x').sections[i]!.addralign, 8);
});

test('defect 2: SHT_NOBITS gets file bytes from elfy, empty data from tsbpf', () => {
  const b = sample();
  const i = b.sectionIndex('.bss');
  const raw = elfySections(b.bytes)[i]!;
  assert.is(raw.data.length, 16); // whatever follows sh_offset in the file (license, ...)
  const bss = parseElf(b.bytes).sections[i]!;
  assert.is(bss.size, 16);
  assert.is(bss.data.length, 0);
});

test('defect 3: EM_BPF is unknown to elfy; machine, types and flags are read raw', () => {
  const b = sample();
  const p = new elfy.Parser();
  const h = p.parseHeader(asBuffer(b.bytes));
  assert.is(h.machine, undefined);
  assert.is(elfy.constants.machine[247], undefined);
  const raw = elfySections(b.bytes)[b.sectionIndex('xdp')]!;
  assert.is(raw.type, 'progbits');
  assert.equal(raw.flags, { alloc: true, execinstr: true });
  const xdp = parseElf(b.bytes).sectionByName('xdp')!;
  assert.is(xdp.type, SHT_PROGBITS);
  assert.is(xdp.flags, SHF_ALLOC | SHF_EXECINSTR);
  assert.is(machineName(247), 'BPF');
  assert.is(machineName(62), 'x86-64');
  assert.is(machineName(92), 'openrisc'); // falls back to elfy's table
});

test('defect 4: elfy needs a Buffer; a plain Uint8Array is read without copying', () => {
  const b = sample();
  const plain = new Uint8Array(b.bytes); // a copy that is not a Buffer
  assert.not.ok(Buffer.isBuffer(plain));
  const e = caught(() => elfy.parse(plain as unknown as Buffer));
  assert.instance(e, Error);
  assert.match((e as Error).message, /Invalid magic: 127,69,76,70/);
  const f = parseElf(plain);
  assert.is(f.sectionByName('license')!.data.buffer, plain.buffer);
  const buf = Buffer.from(b.bytes);
  assert.is(parseElf(buf).sectionByName('license')!.data.buffer, buf.buffer);
});

test('defect 5: elfy rounds 64-bit values above 2^53; tsbpf reports them exactly', () => {
  const b = sample();
  b.setSection('.maps', 'size', 2n ** 53n + 1n);
  const raw = elfySections(b.bytes)[b.sectionIndex('.maps')]!;
  assert.is(raw.size, 2 ** 53); // 9007199254740993 rounded down, silently
  const e = caught(() => parseElf(b.bytes));
  assert.instance(e, ElfError);
  assert.match((e as Error).message, /section \.maps: sh_size 9007199254740993 is too large \(above 2\^53\)/);
  // exact below the limit
  const c = sample();
  c.setSection('.bss', 'size', 2n ** 53n - 1n);
  assert.is(parseElf(c.bytes).sectionByName('.bss')!.size, Number.MAX_SAFE_INTEGER);
});

test('defect 6: elfy throws plain errors without the file; tsbpf throws ElfError', () => {
  const b = sample();
  b.setHeader('shstrndx', 200);
  const plain = caught(() => elfy.parse(asBuffer(b.bytes)));
  assert.instance(plain, Error);
  assert.not.instance(plain, TsbpfError);
  const ours = caught(() => parseElf(b.bytes, 'prog.o'));
  assert.instance(ours, ElfError);
  assert.match((ours as Error).message, /^prog\.o(, offset 62 \(0x3e\))?: e_shstrndx 200 is out of range/);

  const shortHeader = caught(() => elfy.parse(asBuffer(b.bytes.subarray(0, 30))));
  assert.instance(shortHeader, RangeError);
  assert.instance(caught(() => parseElf(b.bytes.subarray(0, 30))), ElfError);
});

test('defect 7: elfy silently truncates data past the end of the file; tsbpf names the section', () => {
  const b = sample();
  b.setSection('.maps', 'size', 4096);
  const raw = elfySections(b.bytes)[b.sectionIndex('.maps')]!;
  assert.ok(raw.data.length < 4096); // shortened, no error
  const e = caught(() => parseElf(b.bytes, 'p.o'));
  assert.instance(e, ElfError);
  assert.match((e as Error).message, /^p\.o, section \.maps: section bytes .* extend beyond the end of the file/);
});

test("defect 7b: elfy resolves an out-of-range name offset to ''; tsbpf rejects it", () => {
  const b = sample();
  b.setSection('xdp', 'name', 60000);
  const p = new elfy.Parser();
  const shstr = elfySections(b.bytes)[b.sectionIndex('.shstrtab')]!;
  assert.is(p.resolveStr(shstr.data, 60000), '');
  const e = caught(() => parseElf(b.bytes));
  assert.instance(e, ElfError);
  assert.match((e as Error).message, /section 1: name offset 60000 is beyond the section name table/);
});

test('defect 8: elfy misreads e_ident and accepts ELF32 / big-endian; tsbpf rejects them first', () => {
  const b = sample();
  const h = new elfy.Parser().parseHeader(asBuffer(b.bytes));
  // EI_VERSION (1) is read as the OS ABI, EI_OSABI (0 = SYSV) as the ABI version
  assert.is(h.osabi, 'hpux');
  assert.is(h.abiversion, 'none');
  b.setHeader('data', 2);
  assert.is(new elfy.Parser().parseHeader(asBuffer(b.bytes)).endian, 'msb');
  assert.match(String((caught(() => parseElf(b.bytes)) as Error).message), /big-endian objects are not supported/);
});

test('program headers (absent in ET_REL) are never parsed', () => {
  const b = sample();
  b.setHeader('phoff', 1 << 30);
  b.setHeader('phnum', 5);
  b.setHeader('phentsize', 56);
  assert.instance(caught(() => elfy.parse(asBuffer(b.bytes))), Error); // "Failed to slice chunks"
  assert.is(parseElf(b.bytes).sectionByName('xdp')!.size, 16);
});

test.run();
