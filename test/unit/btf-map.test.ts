// Btf.parseFile maps /sys/kernel/btf/vmlinux (Linux 6.16+) instead of reading it one page
// per read(), once src/sys is loaded; the mapping lives exactly as long as something can
// read it (unmapped after the Btf and its bytes are garbage), and files that must not be
// mapped (regular files, which could shrink under the mapping) or cannot be (older
// kernels, a test double of the kernel) are read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Btf } from '../../src/btf/index.js';
import { BTF_INT_SIGNED } from '../../src/btf/types.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { collect } from '../helpers/gc.js';
import { mapKernelBtfFile, overrideKernel } from '../../src/sys/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasVmlinux = existsSync(VMLINUX);
const [major, minor] = os.release().split('.').map(Number) as [number, number];
/** The kernel lets vmlinux BTF be mapped from 6.16 on. */
const mappable = hasVmlinux && (major > 6 || (major === 6 && minor >= 16));

/** Mappings of vmlinux BTF in this process (other suites' CO-RE loads may hold one too). */
function vmlinuxMappings(): number {
  return readFileSync('/proc/self/maps', 'latin1').split('\n').filter((l) => l.endsWith(` ${VMLINUX}`)).length;
}

test('parseFile maps vmlinux BTF and gives the same types as a read', () => {
  if (!hasVmlinux) { console.log(`    # skipped: no ${VMLINUX}`); return; }
  const before = vmlinuxMappings();
  const mapped = Btf.parseFile(VMLINUX);
  if (!mappable) {
    console.log(`    # kernel ${os.release()} does not map vmlinux BTF (6.16+): read instead`);
    assert.is(vmlinuxMappings(), before);
  } else {
    assert.is(vmlinuxMappings(), before + 1, 'one new mapping of vmlinux');
  }
  const read = Btf.parse(new Uint8Array(readFileSync(VMLINUX)), { file: VMLINUX });
  assert.is(mapped.length, read.length);
  const ts = mapped.typeByName('task_struct', 'struct')!;
  assert.equal(ts, read.typeByName('task_struct', 'struct'));
  for (let id = 1; id < mapped.length; id += 97) assert.equal(mapped.typeById(id), read.typeById(id));
  assert.equal(Btf.parse(mapped.encode()).typeById(ts.id), ts);
});

test('a mapping is unmapped once its Btf is garbage, and not before', async () => {
  if (!mappable) { console.log(`    # skipped: kernel ${os.release()} does not map vmlinux BTF (6.16+)`); return; }
  await collect(() => false, 5); // earlier tests' garbage mappings
  const before = vmlinuxMappings();
  const kept = Btf.parseFile(VMLINUX);
  (() => { for (let i = 0; i < 3; i++) Btf.parseFile(VMLINUX).typeByName('task_struct', 'struct'); })();
  assert.is(vmlinuxMappings(), before + 4);
  await collect(() => vmlinuxMappings() === before + 1);
  assert.is(vmlinuxMappings(), before + 1, 'the three dropped mappings are gone, the kept one stays');
  // the kept one is still mapped and readable: every type decodes
  let n = 0;
  for (let id = 1; id < kept.length; id++) n += kept.typeById(id).name.length;
  assert.ok(n > 0);
  const bytes = mapKernelBtfFile(VMLINUX)!;
  assert.is(vmlinuxMappings(), before + 2);
  const view = new DataView(bytes.buffer, 4, 4); // a view keeps the mapping, as the Btf does
  await collect(() => false, 5);
  assert.is(vmlinuxMappings(), before + 2);
  assert.is(view.getUint32(0, true), 24, 'hdr_len of the still-mapped bytes');
  assert.ok(kept.typeByName('task_struct', 'struct'), 'kept is still in use here');
});

test('regular files, other paths and a kernel double are read, not mapped', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbpf-btf-map-'));
  try {
    const file = path.join(dir, 'x.btf');
    const b = new BtfBuilder();
    b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
    writeFileSync(file, b.build());
    assert.is(mapKernelBtfFile(file), undefined, 'a regular file outside /sys/kernel/btf is not mapped');
    assert.is(Btf.parseFile(file).typeById(1).name, 'int');
    assert.is(mapKernelBtfFile('/sys/kernel/btf/no-such-module'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!hasVmlinux) return;
  const before = vmlinuxMappings();
  const restore = overrideKernel({ bpf: () => -38, close: () => 0 });
  try {
    assert.is(mapKernelBtfFile(VMLINUX), undefined, 'a kernel double has no memory to map');
    const btf = Btf.parseFile(VMLINUX);
    assert.ok(btf.typeByName('task_struct', 'struct'));
    assert.is(vmlinuxMappings(), before);
  } finally {
    restore();
  }
});

test.run();
