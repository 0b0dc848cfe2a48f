// USDT spec parsing (src/spec/usdt.ts, usdt-layout.ts): .note.stapsdt notes from hand-made
// bytes, argument specs as sdt.h writes them on x86-64, and struct __bpf_usdt_spec laid
// out from an object's BTF (libbpf 1.1's usdt.bpf.h in the fixture; libbpf 1.7's
// bitfield layout by hand). No privileges.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../../src/index.js';
import { parseUsdtArgs, parseUsdtNotes, UsdtError, X86_64_PT_REGS, type UsdtErrorReason } from '../../src/spec/usdt.js';
import { encodeUsdtSpec, usdtSpecLayout, type UsdtSpecLayout } from '../../src/spec/usdt-layout.js';
import { haveGcc, runCProbe } from '../helpers/c-probe.js';
import { sectionTarget } from '../../src/link/auto.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One ELF note: namesz, descsz, type, name and desc each padded to 4. */
function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const n = Buffer.from(name + '\0');
  const pad = (x: number) => (x + 3) & ~3;
  const out = Buffer.alloc(12 + pad(n.length) + pad(desc.length));
  out.writeUInt32LE(n.length, 0); out.writeUInt32LE(desc.length, 4); out.writeUInt32LE(type, 8);
  n.copy(out, 12); Buffer.from(desc).copy(out, 12 + pad(n.length));
  return out;
}
function stapsdt(loc: bigint, base: bigint, sema: bigint, provider: string, name: string, args: string): Uint8Array {
  const a = Buffer.alloc(24);
  a.writeBigUInt64LE(loc, 0); a.writeBigUInt64LE(base, 8); a.writeBigUInt64LE(sema, 16);
  return note('stapsdt', 3, Buffer.concat([a, Buffer.from(`${provider}\0${name}\0${args}\0`)]));
}
function throwsUsdt(fn: () => unknown, reason: UsdtErrorReason, text: RegExp): void {
  try { fn(); } catch (e) {
    assert.ok(e instanceof UsdtError, String(e));
    assert.is(e.reason, reason, e.message);
    assert.match(e.message, text);
    return;
  }
  assert.unreachable(`no UsdtError ${reason}`);
}

test('notes: stapsdt notes in section order with their addresses; other notes passed over; ":" or empty args mean none', () => {
  const bytes = Buffer.concat([
    note('GNU', 3, new Uint8Array(20)), // NT_GNU_BUILD_ID: same type number, another name
    stapsdt(0x118an, 0x2012n, 0x4028n, 'tsbpf', 'args', '-4@$-42 -4@%eax -8@-8(%rbp)'),
    stapsdt(0x11a0n, 0x2012n, 0n, 'tsbpf', 'none', ''),
    stapsdt(0x11b0n, 0n, 0n, 'libc', 'setjmp', ':old'),
  ]);
  const notes = parseUsdtNotes(bytes, { file: 'bin' });
  assert.equal(notes.map((n) => [n.provider, n.name, n.args, n.location, n.base, n.semaphore]), [
    ['tsbpf', 'args', '-4@$-42 -4@%eax -8@-8(%rbp)', 0x118an, 0x2012n, 0x4028n],
    ['tsbpf', 'none', '', 0x11a0n, 0x2012n, 0n],
    ['libc', 'setjmp', '', 0x11b0n, 0n, 0n],
  ]);
  assert.is(notes[0]!.noteOffset, 36, 'after the 36-byte GNU note');
  assert.equal(parseUsdtNotes(new Uint8Array(0)), []);
});

test('notes: a stapsdt note that cannot be read is an error naming the file, section and offset', () => {
  const good = stapsdt(1n, 0n, 0n, 'p', 'n', '');
  const truncated = good.subarray(0, good.length - 4);
  throwsUsdt(() => parseUsdtNotes(truncated, { file: 'bin' }), 'note-malformed', /^bin, section \.note\.stapsdt, offset 0 \(0x0\): stapsdt note: name .* runs past the end/);
  const noNul = Buffer.from(good); noNul.fill(0x41, 12 + 8 + 24); // strings without their NULs
  throwsUsdt(() => parseUsdtNotes(noNul), 'note-malformed', /provider is not NUL-terminated|name is not NUL-terminated|argument spec is not NUL-terminated/);
  throwsUsdt(() => parseUsdtNotes(Buffer.concat([good, stapsdt(1n, 0n, 0n, 'p', '', '')])), 'note-malformed', new RegExp(`offset ${good.length} .*: stapsdt note: probe of provider 'p' has an empty name`));
  throwsUsdt(() => parseUsdtNotes(note('stapsdt', 3, new Uint8Array(20))), 'note-malformed', /descriptor of 20 bytes/);
});

test('args: the three kinds sdt.h writes at -O0 (constant, register, memory), signedness, sizes and bit shifts', () => {
  const [c, r, m] = parseUsdtArgs('-4@$-42 -4@%eax -8@-8(%rbp)', {}, 'tsbpf:args', 'x64');
  assert.equal(c, { text: '-4@$-42', size: 4, signed: true, bitshift: 32, kind: 'const', value: -42n, regOffset: 0 });
  assert.equal(r, { text: '-4@%eax', size: 4, signed: true, bitshift: 32, kind: 'reg', value: 0n, register: 'eax', regOffset: 80 });
  assert.equal(m, { text: '-8@-8(%rbp)', size: 8, signed: true, bitshift: 0, kind: 'reg-deref', value: -8n, register: 'rbp', regOffset: 32 });
  const more = parseUsdtArgs('8@(%rsp)  1@%sil 2@%r10w -2@%cx 4@$71 -4@-1204(%rbp) 8@%rip', {}, 'p', 'x64');
  assert.equal(more.map((a) => [a.kind, a.size, a.signed, a.regOffset, a.value, a.bitshift]), [
    ['reg-deref', 8, false, 152, 0n, 0], ['reg', 1, false, 104, 0n, 56], ['reg', 2, false, 56, 0n, 48],
    ['reg', 2, true, 88, 0n, 48], ['const', 4, false, 0, 71n, 32], ['reg-deref', 4, true, 32, -1204n, 32], ['reg', 8, false, 128, 0n, 0],
  ]);
  assert.equal(parseUsdtArgs('', {}, 'p', 'x64'), []);
});

test('args: scale-index-base (libbpf 1.7): with and without offset and scale', () => {
  const [a, b, c] = parseUsdtArgs('1@-96(%rbp,%rax,8) -2@(%rbx,%rcx) 4@16(%rsi,%rdi,2)', {}, 'p', 'x64');
  assert.equal([a!.kind, a!.value, a!.regOffset, a!.indexRegOffset, a!.scaleShift], ['sib', -96n, 32, 80, 3]);
  assert.equal([b!.kind, b!.value, b!.regOffset, b!.indexRegOffset, b!.scaleShift, b!.signed], ['sib', 0n, 40, 88, 0, true]);
  assert.equal([c!.value, c!.scaleShift], [16n, 1]);
});

test('args: what libbpf refuses is refused, naming the probe and the argument', () => {
  throwsUsdt(() => parseUsdtArgs('4@%eax 4@%xmm0', { file: 'bin' }, 'p:n', 'x64'), 'arg-spec', /^bin: p:n: argument #1 '4@%xmm0': register '%xmm0' is not one libbpf reads/);
  throwsUsdt(() => parseUsdtArgs('3@%eax', {}, 'p:n', 'x64'), 'arg-spec', /argument #0 '3@%eax': size 3/);
  throwsUsdt(() => parseUsdtArgs('-4@tsbpf_global(%rip)', {}, 'p:n', 'x64'), 'arg-spec', /not a form libbpf reads/);
  throwsUsdt(() => parseUsdtArgs('8@(%rbp,%rax,3)', {}, 'p:n', 'x64'), 'arg-spec', /scale 3/);
  throwsUsdt(() => parseUsdtArgs(Array(13).fill('4@$1').join(' '), {}, 'p:n', 'x64'), 'arg-count', /13 arguments.*at most 12/);
  throwsUsdt(() => parseUsdtArgs('8@x0', {}, 'p:n', 'arm64'), 'arch', /architecture 'arm64'/);
});

if (haveGcc && process.arch === 'x64') {
  test('x86-64 pt_regs offsets are those of <asm/ptrace.h>', () => {
    const fields = X86_64_PT_REGS.map((r) => r.field);
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include <asm/ptrace.h>\nint main(void){${fields.map((f) => `printf("%zu\\n", offsetof(struct pt_regs, ${f}));`).join('')}return 0;}\n`;
    const got = runCProbe(src).trim().split('\n').map(Number);
    assert.equal(got, X86_64_PT_REGS.map((r) => r.offset));
  });
}

test('layout: the fixture (libbpf 1.1 usdt.bpf.h) from its BTF; an encoded spec holds each field where the BPF side reads it', () => {
  const spec = loadCollectionSpec(path.join(root, 'bpf-objs/usdt.bpf.o'));
  const m = spec.maps.get('__bpf_usdt_specs')!;
  const l = usdtSpecLayout(spec.btf!, m.valueType);
  assert.equal(l, {
    size: 208, args: { offset: 0, stride: 16, count: 12 },
    arg: { val_off: { bitOffset: 0, bits: 64 }, arg_type: { bitOffset: 64, bits: 32 }, reg_off: { bitOffset: 96, bits: 16 }, arg_signed: { bitOffset: 112, bits: 8 }, arg_bitshift: { bitOffset: 120, bits: 8 } },
    cookie: { bitOffset: 1536, bits: 64 }, argCount: { bitOffset: 1600, bits: 16 },
  });
  assert.is(l.size, m.valueSize);
  const b = Buffer.from(encodeUsdtSpec(l, parseUsdtArgs('-4@$-42 -4@%eax -8@-8(%rbp)', {}, 'p', 'x64'), 0x1122334455n));
  // arg 0: constant -42, signed, shift 32
  assert.is(b.readBigInt64LE(0), -42n); assert.is(b.readUInt32LE(8), 0); assert.is(b.readInt16LE(12), 0); assert.is(b[14], 1); assert.is(b[15], 32);
  // arg 1: register at pt_regs 80
  assert.is(b.readBigInt64LE(16), 0n); assert.is(b.readUInt32LE(24), 1); assert.is(b.readInt16LE(28), 80); assert.is(b[30], 1); assert.is(b[31], 32);
  // arg 2: memory at rbp - 8
  assert.is(b.readBigInt64LE(32), -8n); assert.is(b.readUInt32LE(40), 2); assert.is(b.readInt16LE(44), 32); assert.is(b[47], 0);
  assert.is(b.readBigUInt64LE(192), 0x1122334455n, 'usdt_cookie');
  assert.is(b.readInt16LE(200), 3, 'arg_cnt');
  assert.ok(b.subarray(48, 192).every((x) => x === 0), 'unused args zero');
  throwsUsdt(() => encodeUsdtSpec(l, parseUsdtArgs('1@(%rbp,%rax,8)', {}, 'p', 'x64'), 0n, 'p:n'), 'layout', /scale-index-base, which the object's usdt\.bpf\.h cannot read/);
});

test('layout: libbpf 1.7 bitfields (arg_type:8, idx_reg_off:12, scale_bitshift:4 as clang-19 lays them out) take SIB arguments', () => {
  // from `bpftool btf dump` of an object built against libbpf 1.7's usdt.bpf.h
  const l: UsdtSpecLayout = {
    size: 304, args: { offset: 0, stride: 24, count: 12 },
    arg: {
      val_off: { bitOffset: 0, bits: 64 }, arg_type: { bitOffset: 64, bits: 8 }, idx_reg_off: { bitOffset: 80, bits: 12 },
      scale_bitshift: { bitOffset: 92, bits: 4 }, reg_off: { bitOffset: 112, bits: 16 }, arg_signed: { bitOffset: 128, bits: 8 }, arg_bitshift: { bitOffset: 136, bits: 8 },
    },
    cookie: { bitOffset: 2304, bits: 64 }, argCount: { bitOffset: 2368, bits: 16 },
  };
  const b = Buffer.from(encodeUsdtSpec(l, parseUsdtArgs('-1@-96(%rbp,%rax,8) 8@%rdi', {}, 'p', 'x64'), 7n));
  assert.is(b.readBigInt64LE(0), -96n);
  assert.is(b[8], 3, 'arg_type BPF_USDT_ARG_SIB');
  assert.is(b.readUInt16LE(10) & 0xfff, 80, 'idx_reg_off (rax)');
  assert.is(b.readUInt16LE(10) >> 12, 3, 'scale_bitshift (8)');
  assert.is(b.readInt16LE(14), 32, 'reg_off (rbp)'); assert.is(b[16], 1); assert.is(b[17], 56);
  assert.is(b[24 + 8], 1, 'arg 1: BPF_USDT_ARG_REG'); assert.is(b.readInt16LE(24 + 14), 112);
  assert.is(b.readBigUInt64LE(288), 7n); assert.is(b.readInt16LE(296), 2);
});

test('sections: usdt/BINARY:PROVIDER:NAME names the probe (libbpf attach_usdt); plain usdt names none; other shapes are invalid', () => {
  const t = (section: string) => sectionTarget({ section, type: 'kprobe', attachTo: sectionAttachTo(section) });
  assert.equal(t('usdt/libc.so.6:libc:setjmp'), { kind: 'usdt', binary: 'libc.so.6', provider: 'libc', name: 'setjmp' });
  assert.equal(t('usdt//usr/bin/x:p:n'), { kind: 'usdt', binary: '/usr/bin/x', provider: 'p', name: 'n' });
  assert.is(t('usdt').kind, 'none');
  assert.is(t('usdt/bin:p').kind, 'invalid');
  assert.is(t('usdt/bin:p:n:x').kind, 'invalid');
});
function sectionAttachTo(section: string): string | undefined { const i = section.indexOf('/'); return i < 0 ? undefined : section.slice(i + 1); }

test.run();
