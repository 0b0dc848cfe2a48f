import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Btf, BTF_INT_BOOL, BTF_INT_SIGNED } from '../../src/btf/index.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import {
  CoreError, kallsymsAddress, kallsymsLookup, kconfigData, kconfigValue, kconfigPaths, kernelVersionCode, parseKconfig,
} from '../../src/core/index.js';
import { readKconfig } from '../../src/load/kconfig-file.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const CONFIG = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_BPF_SYSCALL=y
CONFIG_MOD=m
# CONFIG_OFF is not set
CONFIG_NO=n
CONFIG_HZ=250
CONFIG_HEX=0x10
CONFIG_NEG=-3
CONFIG_BIG=4294967296
CONFIG_LOCALVERSION="-tsbpf"
CONFIG_EMPTY=""
`;

const b = new BtfBuilder();
const T = {
  bool: b.add({ kind: 'int', name: '_Bool', size: 1, encoding: BTF_INT_BOOL, bitOffset: 0, bits: 8 }),
  char: b.add({ kind: 'int', name: 'char', size: 1, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 8 }),
  int: b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 }),
  u32: b.add({ kind: 'int', name: 'unsigned int', size: 4, encoding: 0, bitOffset: 0, bits: 32 }),
  u64: b.add({ kind: 'int', name: 'unsigned long long', size: 8, encoding: 0, bitOffset: 0, bits: 64 }),
  tri: 0, str: 0, var: 0, float: 0,
};
T.tri = b.add({ kind: 'enum', name: 'libbpf_tristate', size: 4, signed: false, values: [{ name: 'TRI_NO', value: 0 }, { name: 'TRI_YES', value: 1 }, { name: 'TRI_MODULE', value: 2 }] });
T.str = b.add({ kind: 'array', name: '', type: T.char, indexType: T.int, nelems: 8 });
T.var = b.add({ kind: 'var', name: 'CONFIG_HZ', type: T.int, linkage: 2 });
T.float = b.add({ kind: 'float', name: 'double', size: 8 });
const btf = Btf.parse(b.build());
const config = parseKconfig(CONFIG);
const val = (name: string, type: number, size: number, weak = false, release = '6.18.44-fc') =>
  [...kconfigValue({ name, type, size, weak }, btf, config, release, { bpfCookie: true, syscallWrapper: false })];

test('parseKconfig: CONFIG_ lines only, "is not set" leaves the option unset', () => {
  assert.is(config.get('CONFIG_BPF_SYSCALL'), 'y');
  assert.is(config.get('CONFIG_LOCALVERSION'), '"-tsbpf"');
  assert.not.ok(config.has('CONFIG_OFF'));
  assert.throws(() => parseKconfig('CONFIG_X\n'), /no '=' separator/);
  assert.throws(() => parseKconfig('CONFIG_X=\n'), /no value/);
});

test('bool and tristate: y=1, n=0, m=2 (m is an error for bool)', () => {
  assert.equal(val('CONFIG_BPF_SYSCALL', T.bool, 1), [1]);
  assert.equal(val('CONFIG_NO', T.bool, 1), [0]);
  assert.throws(() => val('CONFIG_MOD', T.bool, 1), /implies tristate or char type/);
  assert.equal(val('CONFIG_BPF_SYSCALL', T.tri, 4), [1, 0, 0, 0]);
  assert.equal(val('CONFIG_MOD', T.tri, 4), [2, 0, 0, 0]);
  assert.equal(val('CONFIG_NO', T.tri, 4), [0, 0, 0, 0]);
  assert.equal(val('CONFIG_MOD', T.char, 1), ['m'.charCodeAt(0)]);
  assert.throws(() => val('CONFIG_BPF_SYSCALL', T.int, 4), /implies bool, tristate, or char type/);
});

test('integers: decimal / hex / negative, range checked by size and sign', () => {
  assert.equal(val('CONFIG_HZ', T.int, 4), [250, 0, 0, 0]);
  assert.equal(val('CONFIG_HZ', T.var, 4), [250, 0, 0, 0], 'a VAR id is followed to its type');
  assert.equal(val('CONFIG_HEX', T.u32, 4), [16, 0, 0, 0]);
  assert.equal(val('CONFIG_NEG', T.int, 4), [0xfd, 0xff, 0xff, 0xff]);
  assert.throws(() => val('CONFIG_NEG', T.u32, 4), /doesn't fit in 4 bytes/);
  assert.throws(() => val('CONFIG_BIG', T.u32, 4), /doesn't fit in 4 bytes/);
  assert.equal(val('CONFIG_BIG', T.u64, 8), [0, 0, 0, 0, 1, 0, 0, 0]);
  assert.throws(() => val('CONFIG_HZ', T.bool, 1), /implies integer type/);
  assert.throws(() => val('CONFIG_HZ', T.float, 8), /type is unsupported/);
});

test('strings: char arrays, NUL-terminated, truncated to the array', () => {
  assert.equal(val('CONFIG_LOCALVERSION', T.str, 8), [...Buffer.from('-tsbpf'), 0, 0]);
  assert.equal(val('CONFIG_EMPTY', T.str, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  const long = kconfigValue({ name: 'CONFIG_LOCALVERSION', type: T.str, size: 4 }, btf, config, '6.1.0');
  assert.equal([...long], [...Buffer.from('-ts'), 0]);
  assert.throws(() => val('CONFIG_LOCALVERSION', T.int, 4), /implies char array type/);
});

test('LINUX_KERNEL_VERSION: KERNEL_VERSION(a, b, c) with c capped at 255', () => {
  assert.is(kernelVersionCode('6.18.44-fc-v769'), (6 << 16) + (18 << 8) + 44);
  assert.is(kernelVersionCode('5.4.300'), (5 << 16) + (4 << 8) + 255);
  assert.is(kernelVersionCode('6.1'), (6 << 16) + (1 << 8));
  assert.throws(() => kernelVersionCode('garbage'), (e: unknown) => e instanceof CoreError);
  assert.equal(val('LINUX_KERNEL_VERSION', T.u32, 4), [44, 18, 6, 0]);
  assert.equal(val('LINUX_HAS_BPF_COOKIE', T.bool, 1), [1]);
  assert.equal(val('LINUX_HAS_SYSCALL_WRAPPER', T.bool, 1), [0]);
  assert.equal([...kconfigValue({ name: 'LINUX_HAS_BPF_COOKIE', type: T.bool, size: 1 }, btf, config, '5.10.0')], [0], 'default: version >= 5.15');
  assert.throws(() => val('LINUX_SOMETHING', T.bool, 1), /unrecognized virtual extern/);
});

test('missing options: weak -> zeros, strong -> CoreError naming the extern', () => {
  assert.equal(val('CONFIG_TSBPF_NEVER_SET', T.bool, 1, true), [0]);
  assert.equal(val('CONFIG_OFF', T.int, 4, true), [0, 0, 0, 0]);
  try {
    val('CONFIG_OFF', T.bool, 1, false);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CoreError);
    assert.is((e as CoreError).symbol, 'CONFIG_OFF');
    assert.match((e as Error).message, /CONFIG_OFF.*not __weak/);
  }
});

test('readKconfig: gzip and plain files; kconfigData fills kconfig.bpf.o .kconfig', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-kconfig-'));
  try {
    writeFileSync(path.join(dir, 'config.gz'), gzipSync(CONFIG));
    writeFileSync(path.join(dir, 'config'), CONFIG);
    assert.equal(readKconfig({ path: path.join(dir, 'config.gz') }), config);
    assert.equal(readKconfig({ path: path.join(dir, 'config') }), config);
    assert.throws(() => readKconfig({ path: path.join(dir, 'nope') }), /no kernel config found/);
    const spec = loadCollectionSpec('bpf-objs/kconfig.bpf.o');
    const m = spec.maps.get('.kconfig')!;
    const weak = new Set(['CONFIG_HZ', 'CONFIG_TSBPF_NEVER_SET']);
    const data = kconfigData(m.variables!.values(), m.valueSize, spec.btf!, { config, release: '6.18.44', weak: (n) => weak.has(n) });
    const v = (n: string) => { const x = m.variables!.get(n)!; return [...data.subarray(x.offset, x.offset + x.size)]; };
    assert.equal(v('LINUX_KERNEL_VERSION'), [44, 18, 6, 0]);
    assert.equal(v('CONFIG_BPF_SYSCALL'), [1]);
    assert.equal(v('CONFIG_HZ'), [250, 0, 0, 0]);
    assert.equal(v('CONFIG_TSBPF_NEVER_SET'), [0]);
    assert.throws(() => kconfigData(m.variables!.values(), m.valueSize, spec.btf!, { config, release: '6.18.44' }), /CONFIG_TSBPF_NEVER_SET.*not __weak/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('kconfigPaths: /proc/config.gz, /boot/config-R, then /usr/lib/modules/R/config (Debian 14: linux-base-R)', () => {
  assert.equal(kconfigPaths('7.2.13+deb14-amd64'), [
    '/proc/config.gz', '/boot/config-7.2.13+deb14-amd64', '/usr/lib/modules/7.2.13+deb14-amd64/config', '/lib/modules/7.2.13+deb14-amd64/config',
  ]);
});

test('kallsyms: lookup by exact name, module symbols, ambiguity and hidden addresses', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-kallsyms-'));
  try {
    const file = path.join(dir, 'kallsyms');
    writeFileSync(file, [
      'ffffffff81000000 T _stext', 'ffffffff81000010 T _stext_more', 'ffffffff82000000 t dup', 'ffffffff82000100 t dup',
      'ffffffffc0000000 t mod_fn\t[my_mod]', '0000000000000000 T hidden', '',
    ].join('\n'));
    assert.is(kallsymsAddress('_stext', { path: file }), 0xffffffff81000000n);
    assert.is(kallsymsAddress('_stext_mo', { path: file }), undefined);
    assert.equal(kallsymsLookup('mod_fn', { path: file }), [{ address: 0xffffffffc0000000n, type: 't', module: 'my_mod' }]);
    assert.throws(() => kallsymsAddress('dup', { path: file }), /ambiguous/);
    assert.throws(() => kallsymsAddress('hidden', { path: file }), /addresses hidden/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

if (existsSync('/proc/config.gz')) {
  test('readKconfig() of this kernel has CONFIG_BPF_SYSCALL=y', () => {
    assert.is(readKconfig().get('CONFIG_BPF_SYSCALL'), 'y');
  });
}

test.run();
