// Mappings made by the real kernel are unmapped by the real munmap when their bytes are
// garbage, and their close() puts zero pages in their place through the real mmap, even when
// the garbage collector (or the close) gets to them while a test double of the kernel
// is installed (overrideKernel: uvu runs every file of a folder in one process, so one
// file's double can be installed when another file's mapping is collected). The double
// must never receive that munmap (the real pages would stay mapped for good, or a double
// without a libc handler would throw from the finalizer and end the process), and a
// double's answer is never taken for memory: nothing is mapped or scheduled for munmap
// under it. No root needed: a regular file in the temporary directory is mapped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TsbpfError } from '../../src/errors.js';
import { errnoNumber, libcFailure, mapReadOnly, overrideKernel } from '../../src/sys/index.js';
import { Mapping, MemoryMapping, PROT_READ } from '../../src/sys/mmap.js';
import { newWasmMemory } from '../../src/wasm/runtime.js';
import { collect } from '../helpers/gc.js';

const dir = mkdtempSync(path.join(tmpdir(), `tsbpf-mmap-${process.pid}-`));
const file = path.join(dir, 'pages');
const LENGTH = 2 * 4096;
writeFileSync(file, new Uint8Array(LENGTH).fill(7));

const maps = () => readFileSync('/proc/self/maps', 'latin1').split('\n');
/** Lines of /proc/self/maps that map `file`. */
const fileMappings = () => maps().filter((l) => l.endsWith(` ${file}`)).length;
/** Where the newest mapping of `file` starts (its bytes' address: no addressOf, which may keep the last buffer it saw). */
const fileMappedAt = () => BigInt(`0x${maps().filter((l) => l.endsWith(` ${file}`)).at(-1)!.split('-')[0]}`);
/** Whether anything is mapped at `addr` (a line of /proc/self/maps starts there). */
const mappedAt = (addr: bigint) => maps().some((l) => l.startsWith(`${addr.toString(16)}-`));

/** `map(fd)` with a fresh fd of the file, closed after (the mapping stays). */
function withFd<T>(map: (fd: number) => T): T {
  const fd = openSync(file, 'r');
  try { return map(fd); } finally { closeSync(fd); }
}

/** A double that answers every libc call with ENOSYS and records its name. */
function installDouble(): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const restore = overrideKernel({
    bpf: () => -errnoNumber('ENOSYS')!,
    close: () => 0,
    libc: (name) => { calls.push(name); return libcFailure(errnoNumber('ENOSYS')!); },
  });
  return { calls, restore };
}

/** Drops what `make` returns (made with no double installed), then collects garbage with a double installed. */
async function collectUnderDouble(make: () => { addr: bigint }, gone: (addr: bigint) => boolean): Promise<{ calls: string[]; addr: bigint }> {
  const { addr } = make();
  const { calls, restore } = installDouble();
  try {
    await collect(() => calls.length > 0 || gone(addr));
  } finally {
    restore();
  }
  return { calls, addr };
}

/** A mapping of the file made by `map` and dropped is unmapped for real while a double is installed, which gets no call. */
async function droppedMappingIsUnmapped(map: (fd: number) => ArrayBufferLike | undefined): Promise<void> {
  const before = fileMappings();
  const { calls } = await collectUnderDouble(() => {
    const buffer = withFd(map);
    assert.ok(buffer, 'mapped');
    assert.is(new Uint8Array(buffer!)[LENGTH - 1], 7);
    assert.is(fileMappings(), before + 1);
    return { addr: fileMappedAt() };
  }, () => fileMappings() === before);
  assert.equal(calls, [], 'the double received no call');
  assert.is(fileMappings(), before, 'the file is unmapped');
}

test('a Mapping nobody closed is unmapped for real when collected while a double is installed', async () => {
  await collect(() => false, 3); // earlier garbage
  await droppedMappingIsUnmapped((fd) => Mapping.map(fd, LENGTH, PROT_READ, 0, 'test file').buffer);
});

test('a closed Mapping\'s zero pages are unmapped for real when collected while a double is installed', async () => {
  const { calls, addr } = await collectUnderDouble(() => {
    const m = withFd((fd) => Mapping.map(fd, LENGTH, PROT_READ, 0, 'test file'));
    const addr = fileMappedAt();
    m.close();
    assert.is(new Uint8Array(m.buffer)[0], 0, 'zero pages after close');
    assert.ok(mappedAt(addr), 'the zero pages stay while the buffer lives');
    return { addr };
  }, (addr) => !mappedAt(addr));
  assert.equal(calls, [], 'the double received no call');
  assert.not.ok(mappedAt(addr), 'the zero pages are unmapped');
});

test('a mapReadOnly mapping is unmapped for real when collected while a double is installed', () =>
  droppedMappingIsUnmapped((fd) => mapReadOnly(fd, LENGTH)?.buffer));

test('under a double nothing is mapped: Mapping.map refuses naming the object, mapReadOnly gives undefined (the caller reads)', async () => {
  const { calls, restore } = installDouble();
  try {
    withFd((fd) => {
      assert.throws(() => Mapping.map(fd, LENGTH, PROT_READ, 0, 'test file'), (e: Error) => e instanceof TsbpfError && /test file/.test(e.message) && /double/.test(e.message));
      assert.is(mapReadOnly(fd, LENGTH), undefined);
    });
    assert.equal(calls, [], 'no mmap reached the double');
    await collect(() => false, 3);
    assert.equal(calls, [], 'and no munmap either');
  } finally {
    restore();
  }
});

/** Closes `close`'s mapping of the file while a double is installed: the real kernel replaces the file's pages, the double gets no call. */
function closeUnderDouble(close: () => void): void {
  const before = fileMappings();
  const { calls, restore } = installDouble();
  try { close(); } finally { restore(); }
  assert.equal(calls, [], 'the double received no call');
  assert.is(fileMappings(), before - 1, 'the file\'s pages are released');
}

test('a Mapping closed while a double is installed: its zero pages come from the real kernel', () => {
  const m = withFd((fd) => Mapping.map(fd, LENGTH, PROT_READ, 0, 'test file'));
  const addr = fileMappedAt();
  closeUnderDouble(() => m.close());
  assert.ok(mappedAt(addr), 'zero pages in their place');
  assert.is(new Uint8Array(m.buffer)[LENGTH - 1], 0, 'a view reads zeros');
});

test('a MemoryMapping closed while a double is installed: the real kernel puts zero pages back into the Memory; under a double none is made', () => {
  const memory = newWasmMemory(LENGTH);
  const m = withFd((fd) => MemoryMapping.map(memory, 0, fd, LENGTH, PROT_READ, 0, 'test file'));
  assert.is(new Uint8Array(memory.buffer)[LENGTH - 1], 7, 'the file is seen through the Memory');
  closeUnderDouble(() => m.close());
  assert.is(new Uint8Array(memory.buffer)[LENGTH - 1], 0, 'the Memory reads zeros');

  const { calls, restore } = installDouble();
  try {
    withFd((fd) => assert.throws(() => MemoryMapping.map(memory, 0, fd, LENGTH, PROT_READ, 0, 'test file'), (e: Error) => e instanceof TsbpfError && /test file/.test(e.message) && /double/.test(e.message)));
  } finally {
    restore();
  }
  assert.equal(calls, [], 'no mmap reached the double');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
