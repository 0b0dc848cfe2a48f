// loadCollectionSpec(path) reads a large object without its debug sections
// (src/elf/read-file.ts): the spec must be the one parsed from all of the file's bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCollectionSpec, type CollectionSpec } from '../../src/spec/index.js';
import { readObjectFile } from '../../src/elf/read-file.js';
import { TsbpfError } from '../../src/errors.js';

const dir = path.resolve('bpf-objs');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).map((f) => path.join(dir, f));

/** A spec as plain data: the BTF as its encoded bytes. */
function plain(s: CollectionSpec): unknown {
  const enc = s.btf?.encode();
  const progs = [...s.programs.values()].map((p) => ({ ...p, btf: p.btf ? 'btf' : undefined }));
  return { maps: [...s.maps.entries()], progs, btf: enc ? [...enc] : undefined, license: s.license, warnings: s.warnings };
}

test('every fixture: the spec from the path equals the spec from all of its bytes', () => {
  let sparse = 0;
  for (const f of fixtures) {
    const whole = readFileSync(f);
    const read = readObjectFile(f);
    assert.is(read.length, whole.length, `${f}: same size`);
    if (!Buffer.from(read).equals(whole)) sparse++;
    assert.equal(plain(loadCollectionSpec(f)), plain(loadCollectionSpec(whole, { file: f })), f);
  }
  assert.ok(sparse > 0, 'some fixture is large enough to be read without its debug sections');
});

test('only debug sections are left out; a file that is not a sane ELF is read whole', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-read-'));
  try {
    const big = fixtures.map((f) => readFileSync(f)).sort((a, b) => b.length - a.length)[0]!;
    const read = readObjectFile(writeTo(tmp, 'big.o', big));
    for (let i = 0; i < big.length; i++) {
      if (read[i] !== big[i] && read[i] !== 0) assert.unreachable(`byte ${i} differs and is not a left-out zero`);
    }
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

function writeTo(d: string, name: string, bytes: Uint8Array): string {
  const p = path.join(d, name);
  writeFileSync(p, bytes);
  return p;
}

test.run();
