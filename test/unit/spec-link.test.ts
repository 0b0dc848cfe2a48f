// linkProgram takes each function's .BTF.ext records from its section's list: by binary
// search when the list is sorted by offset (as clang writes it; a scan per function made
// linking 1,000 programs of one section quadratic), by a scan when it is not. Both give
// the same records, moved to the function's place in the program.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Instruction } from '../../src/asm/types.js';
import type { BtfExt, LineInfo } from '../../src/btf/types.js';
import type { ElfSection } from '../../src/elf/types.js';
import { linkProgram } from '../../src/spec/calls.js';
import type { Func } from '../../src/spec/functions.js';

const MOV64_IMM = 0xb7, EXIT = 0x95;
const section = { index: 3, name: 'xdp' } as ElfSection;

/** Three 2-instruction functions one after the other in one section. */
function funcs(): Map<string, Func> {
  const out = new Map<string, Func>();
  ['f0', 'f1', 'f2'].forEach((name, k) => {
    const insns: Instruction[] = [
      { opcode: MOV64_IMM, dst: 0, src: 0, off: 0, imm: k },
      { opcode: EXIT, dst: 0, src: 0, off: 0, imm: 0 },
    ] as Instruction[];
    out.set(name, { name, section, slot: 2 * k, slots: 2, bind: 1, visibility: 0, insns, insnSlots: [0, 1], callees: [] });
  });
  return out;
}

const line = (insnOff: number): LineInfo => ({ insnOff, fileNameOff: 0, lineOff: 0, fileName: 'x.c', line: `line at ${insnOff}`, lineNum: insnOff + 1, column: 0 });

function linked(offsets: number[], entry: string, sorted?: boolean): string[] {
  const fs = funcs();
  const ext: BtfExt = { funcInfo: new Map(), lineInfo: new Map([['xdp', offsets.map(line)]]), coreRelos: new Map() };
  if (sorted !== undefined) ext.sorted = sorted;
  return linkProgram(fs.get(entry)!, fs, ext, 'x.bpf.o').lineInfo.map((r) => `${r.insnOff}:${r.line}`);
}

test('BtfExt.sorted: as parseBtfExt says, or checked when it does not say', () => {
  const want = ['0:line at 2', '1:line at 3'];
  assert.equal(linked([0, 1, 2, 3, 4, 5], 'f1', true), want);
  assert.equal(linked([0, 1, 2, 3, 4, 5], 'f1', false), want);
  assert.equal(linked([5, 3, 0, 2, 4, 1], 'f1', false), want, 'unsorted, said so');
  assert.equal(linked([5, 3, 0, 2, 4, 1], 'f1'), want, 'unsorted, not said');
});

test('line_info of a function in the middle of its section, sorted or not', () => {
  const want = ['0:line at 2', '1:line at 3'];
  assert.equal(linked([0, 1, 2, 3, 4, 5], 'f1'), want);
  assert.equal(linked([5, 3, 0, 2, 4, 1], 'f1'), want, 'unsorted records are all found');
  assert.equal(linked([0, 2, 2, 3, 4], 'f1'), ['0:line at 2', '0:line at 2', '1:line at 3'], 'records at the same offset');
});

test('line_info of the first and last functions', () => {
  assert.equal(linked([0, 1, 2, 3, 4, 5], 'f0'), ['0:line at 0', '1:line at 1']);
  assert.equal(linked([0, 1, 2, 3, 4, 5], 'f2'), ['0:line at 4', '1:line at 5']);
  assert.equal(linked([4, 1, 5], 'f2'), ['0:line at 4', '1:line at 5']);
  assert.equal(linked([0, 1], 'f2'), [], 'no records in f2');
});

test.run();
