// loadCollectionSpec(path) reads a large object without its debug sections, the others
// packed into a smaller buffer (src/elf/read-file.ts): the spec must be the one parsed
// from all of the file's bytes, and the packed object the file's but for the debug
// sections, which have no bytes (SHT_NOBITS, size kept).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCollectionSpec, type CollectionSpec } from '../../src/spec/index.js';
import { readObjectFile } from '../../src/elf/read-file.js';
import { parseElf } from '../../src/elf/index.js';
import { SHT_NOBITS, SHT_REL } from '../../src/elf/types.js';
import { ElfError, TsbpfError } from '../../src/errors.js';

const dir = path.resolve('bpf-objs');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).map((f) => path.join(dir, f));

/** A spec as plain data: the BTF as its encoded bytes. */
function plain(s: CollectionSpec): unknown {
  const enc = s.btf?.encode();
  const progs = [...s.programs.values()].map((p) => ({ ...p, btf: p.btf ? 'btf' : undefined }));
  return { maps: [...s.maps.entries()], progs, btf: enc ? [...enc] : undefined, license: s.license, warnings: s.warnings };
}

const isDebug = (name: string) => /^\.(rela?\.)?debug_/.test(name);

/**
 * `read` is the object `whole`, but for its debug sections: the same ELF header (but
 * e_shoff), the same sections with the same header fields (but sh_offset) and the same
 * bytes; a debug section either the same too (the file was read whole) or SHT_NOBITS with
 * its size kept (left out). Returns how many were left out.
 */
function sameButDebug(read: Uint8Array, whole: Uint8Array, f: string): number {
  const header = (b: Uint8Array) => [...b.subarray(0, 40), ...b.subarray(48, 64)];
  assert.equal(header(read), header(whole), `${f}: ELF header but e_shoff`);
  const r = parseElf(read, f), w = parseElf(whole, f);
  assert.is(r.sections.length, w.sections.length, `${f}: section count`);
  let left = 0;
  for (const s of w.sections) {
    const t = r.sections[s.index]!;
    const what = `${f}: section ${s.index} ${s.name}`;
    assert.is(t.name, s.name, what);
    assert.equal([t.flags, t.size, t.link, t.info, t.addralign, t.entsize], [s.flags, s.size, s.link, s.info, s.addralign, s.entsize], what);
    if (t.type !== s.type) {
      assert.ok(isDebug(s.name) && t.type === SHT_NOBITS && t.data.length === 0, `${what}: only a debug section is left out (SHT_NOBITS, no bytes)`);
      left++;
      continue;
    }
    assert.ok(Buffer.from(t.data).equals(s.data), `${what}: same bytes`);
  }
  return left;
}

test('every fixture: the spec from the path equals the spec from all of its bytes', () => {
  let sparse = 0;
  for (const f of fixtures) {
    const whole = readFileSync(f);
    const read = readObjectFile(f);
    if (sameButDebug(read, whole, f) > 0) {
      sparse++;
      assert.ok(read.length < whole.length / 4, `${f}: packed into ${read.length} of its ${whole.length} bytes`);
    } else {
      assert.ok(Buffer.from(read).equals(whole), `${f}: read whole`);
    }
    assert.equal(plain(loadCollectionSpec(f)), plain(loadCollectionSpec(whole, { file: f })), f);
  }
  assert.ok(sparse > 0, 'some fixture is large enough to be read without its debug sections');
});

test('only debug sections are left out; a file that is not a sane ELF is read whole', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-read-'));
  try {
    const big = fixtures.map((f) => readFileSync(f)).sort((a, b) => b.length - a.length)[0]!;
    const read = readObjectFile(writeTo(tmp, 'big.o', big));
    const left = sameButDebug(read, big, 'big.o');
    assert.is(left, parseElf(big).sections.filter((s) => isDebug(s.name) && s.type !== SHT_NOBITS).length, 'every debug section left out');
    // not ELF: read whole, and the parser says why
    const junk = Buffer.alloc(100_000, 7);
    assert.ok(Buffer.from(readObjectFile(writeTo(tmp, 'junk.o', junk))).equals(junk));
    assert.throws(() => loadCollectionSpec(path.join(tmp, 'junk.o')), (e: Error) => e instanceof TsbpfError && /bad magic/.test(e.message));
    // section table beyond the end: read whole, and the parser reports it
    const cut = big.subarray(0, big.length - 100);
    assert.ok(Buffer.from(readObjectFile(writeTo(tmp, 'cut.o', cut))).equals(cut));
    assert.throws(() => loadCollectionSpec(path.join(tmp, 'cut.o')), (e: Error) => e instanceof TsbpfError);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the section header table not near the end of the file: the same object and spec from the path', () => {
  // readSparse reads the table with the file's end when it is near it, else alone (and the
  // names and each kept range then by their own reads): bytes after the table move it away
  const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-read-'));
  try {
    const big = fixtures.map((f) => readFileSync(f)).sort((a, b) => b.length - a.length)[0]!;
    // odd sizes too, and those either side of the two edges (read-file.ts TAIL_BYTES,
    // TAIL_MAX): where the last 8 KiB no longer reach the table's start (the end is read
    // from the table on), and where the table starts more than 64 KiB before the end (read alone)
    const tableLen = big.readUInt16LE(60) * 64;
    const after = big.length - Number(big.readBigUInt64LE(40)) - tableLen;
    const edges = [8192, 65_536].flatMap((at) => [-1, 0, 1].map((d) => at - tableLen - after + d)).filter((p) => p > 0);
    for (const pad of [0, 1, 5000, 30_000, 200_000, ...edges]) {
      const padded = Buffer.concat([big, Buffer.alloc(pad, 0x5a)]);
      const f = writeTo(tmp, `pad${pad}.o`, padded);
      const read = readObjectFile(f);
      assert.ok(sameButDebug(read, padded, f) > 0, `${f}: packed`);
      assert.equal(plain(loadCollectionSpec(f)), plain(loadCollectionSpec(padded, { file: f })), f);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a left-out debug relocation section with a bad header: the same ElfError from the path as from the bytes', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-read-'));
  try {
    const big = fixtures.map((f) => readFileSync(f)).sort((a, b) => b.length - a.length)[0]!;
    const rel = parseElf(big).sections.find((s) => s.type === SHT_REL && s.name.startsWith('.rel.debug_'));
    assert.ok(rel, 'the largest fixture has a .rel.debug_* section');
    const shoff = Number(Buffer.from(big).readBigUInt64LE(40));
    // sh_entsize, sh_link, sh_info of that header, each made wrong in its own copy
    for (const [field, value] of [[56, 24], [40, 0], [44, 0xffff]] as const) {
      const bad = Buffer.from(big);
      bad.writeUInt32LE(value, shoff + rel!.index * 64 + field);
      const file = writeTo(tmp, `bad-${field}.o`, bad);
      const fromBytes = caught(() => loadCollectionSpec(bad, { file }));
      assert.ok(fromBytes instanceof ElfError && fromBytes.section === rel!.name, `field ${field}: the bytes are refused for ${rel!.name}`);
      const fromPath = caught(() => loadCollectionSpec(file));
      assert.ok(fromPath instanceof ElfError, `field ${field}: the path is refused too`);
      assert.is((fromPath as ElfError).message, (fromBytes as ElfError).message);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

function caught(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  return undefined;
}

function writeTo(d: string, name: string, bytes: Uint8Array): string {
  const p = path.join(d, name);
  writeFileSync(p, bytes);
  return p;
}

test.run();
