// The VM runner's pieces (scripts/vm): package resolution from apt-cache output, the
// initramfs (modules in dependency order, decompressed; /init; device nodes), the console
// markers and the exit-code plumbing (with a fake qemu that runs the guest's command on the
// host), and one real boot (TSBPF_VM_TESTS=1 only: downloads a kernel and boots it with TCG).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import {
  bzImageVersion, cachedPackages, cacheRoot, kernelFiles, KERNEL_LINES, LINE_NAMES, matchPackage, packagesOf, parsePolicyCandidate, pickNewest, releaseOfPackage, searchPattern, sourcesList,
} from '../../scripts/vm/kernels.mjs';
import {
  aliasMatches, baseInitramfs, buildBase, buildRun, commandScript, cpio, initScript, modinfo, modinfoEntries, moduleLoadScript, OPTIONAL_MODULES,
  parseCpio, parseSoftdeps, resolveModules, shq, WANTED_MODULES,
} from '../../scripts/vm/initramfs.mjs';
import { ConsoleParser, exitStatus } from '../../scripts/vm/guest.mjs';
import { isStaticElf } from '../../scripts/vm/host.mjs';
import { parseArgs } from '../../scripts/vm/run.mjs';
import { expectedModules, parseSummary, SMOKE_TESTS, tallyCli, testsResult } from '../../scripts/vm/guest-suite.mjs';
import { describe, expectationsFor, loadRequirements, matchesRefusal, refusedOn, versionNumber } from '../../scripts/vm/requirements.mjs';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { formatTable, parseMatrixArgs, rowFailed } from '../../scripts/vm/test-matrix.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tsbpf-vm-test-'));

// ---- package resolution ----------------------------------------------------------------

const SEARCH = `linux-image-6.1.0-47-amd64-dbg - Debug symbols for linux-image-6.1.0-47-amd64
linux-image-6.1.0-47-amd64-unsigned - Linux 6.1 for 64-bit PCs
linux-image-6.1.0-47-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-9-amd64-unsigned - Linux 6.1 for 64-bit PCs
linux-image-6.1.0-56-amd64-unsigned - Linux 6.1 for 64-bit PCs
linux-image-6.1.0-56-rt-amd64-unsigned - Linux 6.1 for 64-bit PCs, PREEMPT_RT
linux-image-6.1.0-60-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-60-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.12.9+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs
linux-image-6.12.107+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs
linux-image-6.12.117+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs
linux-image-6.12.117+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.12.120+deb12-rt-amd64-unsigned - Linux 6.12 for 64-bit PCs, PREEMPT_RT
linux-image-6.12.13-amd64-unsigned - Linux 6.12 for 64-bit PCs (trixie style, not a deb12 build)
`;

test('pickNewest: 6.1 takes the highest ABI number of the plain amd64 flavour', () => {
  assert.is(pickNewest(SEARCH, '6.1'), 'linux-image-6.1.0-56-amd64-unsigned');
});

test('pickNewest: 6.12 takes the highest patch level of the +deb12 amd64 flavour', () => {
  assert.is(pickNewest(SEARCH, '6.12'), 'linux-image-6.12.117+deb12-amd64-unsigned');
});

test('pickNewest: numbers compare as numbers; no match -> undefined', () => {
  assert.is(pickNewest('linux-image-6.1.0-9-amd64-unsigned - x\nlinux-image-6.1.0-10-amd64-unsigned - x\n', '6.1'), 'linux-image-6.1.0-10-amd64-unsigned');
  assert.is(pickNewest(SEARCH, '5.10'), undefined);
  assert.is(pickNewest('', '6.1'), undefined);
  assert.is(matchPackage('linux-image-6.12.117+deb12-amd64-unsigned', '6.1'), undefined);
  assert.is(matchPackage('linux-image-6.1.0-56-amd64-unsigned', '6.12'), undefined);
  assert.is(matchPackage('linux-image-6.1.0-56-amd64-unsigned', '6.1'), 56);
});

const SID = `linux-base-7.2.13+deb14-amd64 - Linux 7.2.13 for 64-bit PCs (base files)
linux-binary-unsigned-7.2.13+deb14-amd64 - Linux 7.2.13 for 64-bit PCs (unsigned kernel image)
linux-binary-unsigned-7.2.13+deb14-cloud-amd64 - Linux 7.2.13 for x86-64 cloud (unsigned kernel image)
linux-binary-unsigned-7.2.9+deb14-amd64 - Linux 7.2.9 for 64-bit PCs (unsigned kernel image)
linux-binary-unsigned-7.10.1+deb14-amd64 - Linux 7.10.1 for 64-bit PCs (unsigned kernel image)
linux-binary-unsigned-7.2.20+deb14-rt-amd64 - Linux 7.2.20 for 64-bit PCs, PREEMPT_RT (unsigned kernel image)
linux-binary-unsigned-8.0.1+deb14-amd64 - Linux 8.0.1 for 64-bit PCs (unsigned kernel image)
linux-modules-7.2.13+deb14-amd64 - Linux 7.2.13 for 64-bit PCs (modules)
linux-image-7.2.13+deb14-amd64 - Linux 7.2.13 for 64-bit PCs
`;

test('kernel lines: 5.10 from bullseye, 6.1/6.12 from bookworm, 7 and sid from sid (three packages per kernel)', () => {
  assert.equal(LINE_NAMES, ['5.10', '6.1', '6.12', '7', 'sid']);
  assert.equal(Object.keys(KERNEL_LINES).sort(), [...LINE_NAMES].sort());
  assert.is(pickNewest('linux-image-5.10.0-32-amd64-unsigned - x\nlinux-image-5.10.0-46-amd64-unsigned - x\nlinux-image-5.10.0-46-rt-amd64-unsigned - x\n', '5.10'), 'linux-image-5.10.0-46-amd64-unsigned');
  // bullseye-security carries 6.1 backports named 6.1.0-0.deb11.N: not the 6.1 line
  assert.is(matchPackage('linux-image-6.1.0-0.deb11.52-amd64-unsigned', '6.1'), undefined);
  assert.is(pickNewest(SID, '7'), 'linux-binary-unsigned-7.10.1+deb14-amd64', 'versions compare as numbers; rt and cloud flavours ignored');
  assert.is(pickNewest(SID, 'sid'), 'linux-binary-unsigned-8.0.1+deb14-amd64');
  assert.is(matchPackage('linux-image-7.2.13+deb14-amd64', '7'), undefined, 'the signed meta package is not the kernel');
  assert.equal(packagesOf('linux-binary-unsigned-7.2.13+deb14-amd64'), [
    'linux-binary-unsigned-7.2.13+deb14-amd64', 'linux-modules-7.2.13+deb14-amd64', 'linux-base-7.2.13+deb14-amd64']);
  assert.equal(packagesOf('linux-image-6.1.0-56-amd64-unsigned'), ['linux-image-6.1.0-56-amd64-unsigned']);
  assert.is(releaseOfPackage('linux-binary-unsigned-7.2.13+deb14-amd64'), '7.2.13+deb14-amd64');
  assert.is(searchPattern('7'), '^linux-binary-unsigned-[0-9]');
  assert.is(searchPattern('5.10'), '^linux-image-5\\.10');
  const list = sourcesList('bullseye', {});
  assert.match(list, /^deb \[signed-by=\/usr\/share\/keyrings\/debian-archive-keyring\.gpg\] http:\/\/deb\.debian\.org\/debian bullseye main$/m);
  assert.match(list, /^deb \[signed-by=\S+\] http:\/\/deb\.debian\.org\/debian-security bullseye-security main$/m);
  assert.match(sourcesList('sid', { TSBPF_DEBIAN_MIRROR: 'http://m/debian' }), /^deb \[signed-by=\S+\] http:\/\/m\/debian sid main\n$/);
});

test('kernelFiles: /boot + /lib/modules (up to Debian 13) and /usr/lib/modules/V (Debian 14)', () => {
  const old = path.join(tmp, 'pkg-old'), split = path.join(tmp, 'pkg-split');
  mkdirSync(path.join(old, 'boot'), { recursive: true });
  writeFileSync(path.join(old, 'boot', 'vmlinuz-5.10.0-46-amd64'), '');
  assert.equal(kernelFiles(old), {
    kernel: path.join(old, 'boot/vmlinuz-5.10.0-46-amd64'), release: '5.10.0-46-amd64',
    modules: path.join(old, 'lib/modules/5.10.0-46-amd64'), config: path.join(old, 'boot/config-5.10.0-46-amd64'),
  });
  const v = path.join(split, 'usr/lib/modules/7.2.13+deb14-amd64');
  mkdirSync(v, { recursive: true });
  writeFileSync(path.join(v, 'vmlinuz.unsigned'), '');
  assert.equal(kernelFiles(split), { kernel: path.join(v, 'vmlinuz.unsigned'), release: '7.2.13+deb14-amd64', modules: v, config: path.join(v, 'config') });
  assert.throws(() => kernelFiles(path.join(tmp, 'nothing')), /no kernel image/);
});

test('parsePolicyCandidate / releaseOfPackage', () => {
  const policy = `linux-image-6.1.0-56-amd64-unsigned:
  Installed: (none)
  Candidate: 6.1.192-2
  Version table:
     6.1.192-2 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
`;
  assert.is(parsePolicyCandidate(policy), '6.1.192-2');
  assert.is(parsePolicyCandidate('x:\n  Installed: (none)\n  Candidate: (none)\n'), undefined);
  assert.is(releaseOfPackage('linux-image-6.12.117+deb12-amd64-unsigned'), '6.12.117+deb12-amd64');
  assert.is(releaseOfPackage('linux-image-6.1.0-56-amd64-unsigned'), '6.1.0-56-amd64');
});

test('bzImageVersion reads the setup header', () => {
  const f = path.join(tmp, 'bzImage');
  writeFileSync(f, fakeBzImage('6.9.0-test (me@here) #1 SMP'));
  assert.is(bzImageVersion(f), '6.9.0-test (me@here) #1 SMP');
  writeFileSync(f, Buffer.alloc(0x300));
  assert.is(bzImageVersion(f), undefined);
});

// ---- initramfs ---------------------------------------------------------------------------

/** A minimal ELF64 relocatable with a .modinfo section (what a .ko looks like to us);
 * pairs for repeated keys (alias, softdep). */
function fakeKo(info: Record<string, string> | Array<[string, string]>): Buffer {
  const modinfoData = Buffer.from((Array.isArray(info) ? info : Object.entries(info)).map(([k, v]) => `${k}=${v}\0`).join(''));
  const shstr = Buffer.from('\0.modinfo\0.shstrtab\0');
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0); ehdr[4] = 2; ehdr[5] = 1; ehdr[6] = 1;
  ehdr.writeUInt16LE(1, 16); ehdr.writeUInt16LE(62, 18); ehdr.writeUInt32LE(1, 20);
  const modOff = 64, strOff = modOff + modinfoData.length;
  const shoff = (strOff + shstr.length + 7) & ~7;
  ehdr.writeBigUInt64LE(BigInt(shoff), 0x28);
  ehdr.writeUInt16LE(64, 0x34); ehdr.writeUInt16LE(64, 0x3a); ehdr.writeUInt16LE(3, 0x3c); ehdr.writeUInt16LE(2, 0x3e);
  const sh = Buffer.alloc(64 * 3);
  const set = (i: number, name: number, type: number, off: number, size: number) => {
    sh.writeUInt32LE(name, i * 64); sh.writeUInt32LE(type, i * 64 + 4);
    sh.writeBigUInt64LE(BigInt(off), i * 64 + 0x18); sh.writeBigUInt64LE(BigInt(size), i * 64 + 0x20);
  };
  set(1, 1, 1, modOff, modinfoData.length);
  set(2, 10, 3, strOff, shstr.length);
  const pad = Buffer.alloc(shoff - strOff - shstr.length);
  return Buffer.concat([ehdr, modinfoData, shstr, pad, sh]);
}

/** A static "executable": ELF64 header with no program headers (so no PT_INTERP). */
function fakeStaticElf(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0); b[4] = 2; b[5] = 1; b[6] = 1; b.writeUInt16LE(2, 16);
  return b;
}

function fakeBzImage(version: string): Buffer {
  const b = Buffer.alloc(0x1000);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x400, 0x20e);
  b.write(`${version}\0`, 0x600, 'latin1');
  return b;
}

const hasXz = spawnSync('xz', ['--version']).status === 0;

/** A fake modules tree: deps out of the wanted order, .ko.xz / .ko.gz / .ko, one built in,
 * one absent (fscache), one unrelated module; the optional nf_conntrack as on Debian
 * (libcrc32c with `softdep=pre: crc32c`, an alias of crc32c_generic and crc32c-intel, and an
 * unrelated crypto module), x_tables absent. */
function fakeModulesTree(): string {
  const dir = path.join(tmp, 'modules', '6.9.0-test');
  const put = (rel: string, name: string, depends: string[], more: Array<[string, string]> = []) => {
    const f = path.join(dir, 'kernel', rel);
    mkdirSync(path.dirname(f), { recursive: true });
    const ko = fakeKo([['name', name], ['depends', depends.join(',')], ['license', 'GPL'], ...more]);
    if (f.endsWith('.xz')) {
      if (!hasXz) { writeFileSync(f.slice(0, -3), ko); return; }
      writeFileSync(f, spawnSync('xz', ['-c'], { input: ko }).stdout);
    } else if (f.endsWith('.gz')) writeFileSync(f, zlib.gzipSync(ko));
    else writeFileSync(f, ko);
  };
  put('drivers/virtio/virtio.ko.xz', 'virtio', []);
  put('drivers/virtio/virtio_ring.ko.xz', 'virtio_ring', ['ring_helper']);
  put('lib/ring-helper.ko.gz', 'ring_helper', []);
  put('drivers/virtio/virtio_pci_modern_dev.ko', 'virtio_pci_modern_dev', []);
  put('drivers/virtio/virtio_pci.ko.xz', 'virtio_pci', ['virtio_pci_modern_dev', 'virtio_ring', 'virtio', 'virtio_pci_legacy_dev']);
  put('fs/netfs/netfs.ko.xz', 'netfs', []);
  put('net/9p/9pnet.ko.xz', '9pnet', []);
  put('net/9p/9pnet_virtio.ko.xz', '9pnet_virtio', ['virtio_ring', '9pnet', 'virtio']);
  put('fs/9p/9p.ko.xz', '9p', ['netfs', '9pnet']);
  put('fs/ext4/ext4.ko.xz', 'ext4', ['jbd2']);
  put('net/netfilter/nf_conntrack.ko.xz', 'nf_conntrack', ['nf_defrag_ipv6', 'libcrc32c', 'nf_defrag_ipv4']);
  put('net/ipv4/netfilter/nf_defrag_ipv4.ko.xz', 'nf_defrag_ipv4', []);
  put('net/ipv6/netfilter/nf_defrag_ipv6.ko.xz', 'nf_defrag_ipv6', []);
  put('lib/libcrc32c.ko.xz', 'libcrc32c', [], [['softdep', 'pre: crc32c']]);
  put('crypto/crc32c_generic.ko.xz', 'crc32c_generic', [], [['alias', 'crypto-crc32c-generic'], ['alias', 'crc32c-generic'], ['alias', 'crypto-crc32c'], ['alias', 'crc32c']]);
  put('arch/x86/crypto/crc32c-intel.ko.xz', 'crc32c_intel', [], [['alias', 'crypto-crc32c'], ['alias', 'crc32c']]);
  put('crypto/sha256_generic.ko.xz', 'sha256_generic', [], [['alias', 'sha256']]);
  writeFileSync(path.join(dir, 'modules.builtin'), 'kernel/drivers/virtio/virtio_pci_legacy_dev.ko\nkernel/fs/fat/fat.ko\n');
  return dir;
}

test('modinfo reads .modinfo of an ELF module', () => {
  assert.equal(modinfo(fakeKo({ name: '9p', depends: 'netfs,9pnet', vermagic: '6.9 SMP' })), { name: '9p', depends: 'netfs,9pnet', vermagic: '6.9 SMP' });
  assert.throws(() => modinfo(Buffer.from('not an elf, not at all, no')), /ELF64/);
});

const BASE_ORDER = ['virtio', 'ring_helper', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci', 'netfs', '9pnet', '9pnet_virtio', '9p'];
const CT_ORDER = ['nf_defrag_ipv6', 'crc32c_generic', 'crc32c_intel', 'libcrc32c', 'nf_defrag_ipv4', 'nf_conntrack'];

test('resolveModules: wanted modules after their dependencies, decompressed, built-in and absent ones reported', () => {
  const dir = fakeModulesTree();
  const r = resolveModules(dir, WANTED_MODULES, undefined, []);
  const names = r.modules.map((m) => m.name);
  assert.equal(names, BASE_ORDER);
  assert.equal(r.builtin, ['virtio_pci_legacy_dev']);
  assert.equal(r.absent, ['fscache']);
  assert.ok(r.modules.every((m) => !m.optional));
  for (const m of r.modules) {
    assert.is(m.bytes.readUInt32BE(0), 0x7f454c46, `${m.name} decompressed`);
    for (const d of m.depends) if (names.includes(d)) assert.ok(names.indexOf(d) < names.indexOf(m.name), `${d} before ${m.name}`);
  }
  assert.not.ok(names.includes('ext4'));
});

test('resolveModules: optional modules after the wanted ones, with dependencies and softdeps (an alias: every provider, generic first)', () => {
  const dir = fakeModulesTree();
  assert.equal(OPTIONAL_MODULES, ['nf_conntrack', 'x_tables', 'veth', 'sch_ingress', 'cls_bpf']);
  const r = resolveModules(dir);
  assert.equal(r.modules.map((m) => m.name), [...BASE_ORDER, ...CT_ORDER]);
  assert.equal(r.modules.filter((m) => m.optional).map((m) => m.name), CT_ORDER);
  assert.equal(r.absent, ['fscache', 'x_tables', 'veth', 'sch_ingress', 'cls_bpf']); // an absent optional module is no error
  assert.equal(r.modules.find((m) => m.name === 'nf_conntrack')!.depends, ['nf_defrag_ipv6', 'libcrc32c', 'nf_defrag_ipv4']);
  for (const m of r.modules) assert.is(m.bytes.readUInt32BE(0), 0x7f454c46, `${m.name} decompressed`);
  assert.not.ok(r.modules.some((m) => m.name === 'sha256_generic'), 'a crypto module without the alias');
  // only the optional list given: the same, without the virtio/9p modules
  assert.equal(resolveModules(dir, [], [], ['nf_conntrack']).modules.map((m) => m.name), CT_ORDER);
});

test('resolveModules: softdeps pre and post, provided by a built-in module, unknown; an optional module a wanted one needs is required', () => {
  const dir = path.join(tmp, 'modules-soft');
  const put = (rel: string, info: Array<[string, string]>) => {
    const f = path.join(dir, 'kernel', rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, fakeKo(info));
  };
  put('a.ko', [['depends', ''], ['softdep', 'pre: c'], ['softdep', 'post: d']]);
  put('b.ko', [['depends', 'c']]);
  put('c.ko', [['depends', 'e']]);
  put('d.ko', [['depends', '']]);
  put('e.ko', [['depends', '']]);
  put('f.ko', [['depends', ''], ['softdep', 'pre: crc32c nothing-provides-this']]);
  writeFileSync(path.join(dir, 'modules.builtin'), 'kernel/crypto/crc32c_generic.ko\n');
  writeFileSync(path.join(dir, 'modules.builtin.modinfo'), 'crc32c_generic.license=GPL\0crc32c_generic.alias=crc32c\0');
  const r = resolveModules(dir, ['a', 'b'], [], ['f']);
  assert.equal(r.modules.map((m) => `${m.name}${m.optional ? '?' : ''}`), ['e', 'c', 'a', 'd?', 'b', 'f?']);
  assert.equal(r.absent, ['nothing-provides-this']);
  assert.equal(parseSoftdeps(['pre: a b post: c', 'platform: x pre: d']), { pre: ['a', 'b', 'd'], post: ['c'] });
  assert.ok(aliasMatches('crc32c', 'crc32c'));
  assert.not.ok(aliasMatches('crc32c', 'crc32'));
  assert.ok(aliasMatches('pci:v00001AF4d*sv*', 'pci:v00001AF4d00001000sv00001AF4'));
  assert.not.ok(aliasMatches('fs-*', 'xfs-9p'));
  assert.equal(modinfoEntries(fakeKo([['alias', 'x'], ['alias', 'y']])), [['alias', 'x'], ['alias', 'y']]);
});

test('resolveModules: a tree without 9p says so', () => {
  const dir = path.join(tmp, 'modules-no9p');
  mkdirSync(path.join(dir, 'kernel'), { recursive: true });
  writeFileSync(path.join(dir, 'kernel', 'virtio.ko'), fakeKo({ depends: '' }));
  assert.throws(() => resolveModules(dir), /virtio_pci, 9pnet_virtio, 9p are neither/);
  // no modules at all (a monolithic kernel): nothing to load, nothing to complain about
  assert.equal(resolveModules(path.join(tmp, 'nowhere')).modules, []);
});

test('base initramfs: /init, busybox, /dev/console, modules in load order, decompressed, config', () => {
  const dir = fakeModulesTree();
  const busybox = path.join(tmp, 'busybox');
  writeFileSync(busybox, fakeStaticElf());
  const config = path.join(tmp, 'config');
  writeFileSync(config, 'CONFIG_BPF_SYSCALL=y\n');
  const r = resolveModules(dir);
  const entries = parseCpio(buildBase({ busybox, modules: r.modules, config }));
  const byName = new Map(entries.map((e) => [e.name, e]));
  const init = byName.get('init')!;
  assert.ok(init, 'init');
  assert.is(init.mode, 0o100755);
  const text = init.data.toString();
  assert.ok(text.startsWith('#!/bin/busybox sh\n'));
  assert.match(text, /^for m in virtio ring_helper virtio_ring virtio_pci_modern_dev virtio_pci netfs 9pnet 9pnet_virtio 9p; do\n  insmod \/modules\/\$m\.ko \|\| fail /m);
  assert.match(text, /^for m in nf_defrag_ipv6 crc32c_generic crc32c_intel libcrc32c nf_defrag_ipv4 nf_conntrack; do\n  out=\$\(insmod \/modules\/\$m\.ko 2>&1\) \|\| warn /m);
  assert.ok(text.indexOf('for m in virtio ') < text.indexOf('for m in nf_defrag_ipv6 '));
  assert.ok(text.indexOf('for m in nf_defrag_ipv6 ') < text.indexOf('mount -t 9p'));
  for (const needle of ['mount -t 9p -o $opts,ro,cache=loose hostroot $R', 'project "$R$PROJECT"', 'mount -t bpf bpf $R/sys/fs/bpf',
    'mount -t tracefs tracefs $R/sys/kernel/tracing', 'mount -t debugfs debugfs $R/sys/kernel/debug', 'mount -t devtmpfs dev $R/dev',
    'mount -t proc proc $R/proc', 'mount -t sysfs sys $R/sys', 'chroot $R /bin/sh /run/tsbpf/cmd.sh', 'TSBPF_VM_EXIT:$NONCE=$rc', '/proc/sysrq-trigger',
    'cp /tsbpf/config $R/boot/config-$(uname -r)', 'cp /tsbpf/config $R/usr/lib/modules/$(uname -r)/config']) {
    assert.ok(text.includes(needle), needle);
  }
  assert.equal(byName.get('dev/console')!.rdev, [5, 1]);
  assert.is(byName.get('dev/console')!.mode, 0o020600);
  assert.ok(byName.get('bin/busybox')!.data.equals(fakeStaticElf()));
  assert.is(byName.get('tsbpf/config')!.data.toString(), 'CONFIG_BPF_SYSCALL=y\n');
  const kos = entries.filter((e) => e.name.startsWith('modules/')).map((e) => e.name);
  assert.equal(kos, r.modules.map((m) => `modules/${m.name}.ko`));
  for (const e of entries.filter((x) => x.name.startsWith('modules/'))) assert.is(e.data.readUInt32BE(0), 0x7f454c46, e.name);
});

const cached61 = cachedPackages('6.1')[0];
(cached61 ? test : test.skip)(`base initramfs of the cached Debian kernel ${cached61 ?? '(none cached: run scripts/vm-run --kernel 6.1 once)'}`, () => {
  const dir = path.join(cacheRoot(), 'kernels', cached61!, 'root', 'lib', 'modules');
  const release = spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
  const r = resolveModules(path.join(dir, release));
  const names = r.modules.map((m) => m.name);
  for (const must of ['9p', '9pnet_virtio', '9pnet']) assert.ok(names.includes(must) || r.builtin.includes(must), must);
  for (const m of r.modules) {
    assert.is(m.bytes.readUInt32BE(0), 0x7f454c46, `${m.name} is an ELF`);
    for (const d of m.depends) assert.ok(names.indexOf(d) >= 0 && names.indexOf(d) < names.indexOf(m.name), `${d} before ${m.name}`);
  }
  assert.ok(names.indexOf('9p') > names.indexOf('9pnet'));
  // nf_conntrack (module kfuncs) with libcrc32c's soft dependency on a crc32c implementation
  for (const opt of ['nf_conntrack', 'libcrc32c', 'crc32c_generic', 'x_tables']) {
    const m = r.modules.find((x) => x.name === opt);
    assert.ok(m?.optional, `${opt} optional`);
  }
  assert.ok(names.indexOf('crc32c_generic') < names.indexOf('libcrc32c'));
  assert.ok(r.modules.filter((m) => !m.optional).every((m) => names.indexOf(m.name) < names.indexOf('nf_defrag_ipv4')));
});
if (!cached61) console.log('# vm: SKIP initramfs of a real Debian kernel: none cached (scripts/vm-run --kernel 6.1 -- true downloads one)');

test('cpio: round trip, 4-byte alignment, 512-byte padded for concatenation', () => {
  const a = cpio([{ name: 'x', mode: 0o040755 }, { name: 'x/f', mode: 0o100644, data: 'hello' }, { name: 'l', mode: 0o120777, target: 'x/f' }]);
  assert.is(a.length % 512, 0);
  const b = buildRun({ nonce: 'n1', project: "/a b/it's", verbose: false, cmdScript: 'exit 0\n' });
  const e = parseCpio(Buffer.concat([a, b]));
  assert.equal(e.map((x) => x.name), ['x', 'x/f', 'l', 'tsbpf', 'tsbpf/run.env', 'tsbpf/cmd.sh']);
  assert.is(e[1]!.data.toString(), 'hello');
  assert.is(e[2]!.data.toString(), 'x/f');
  const env = e[4]!.data.toString();
  const r = spawnSync('sh', ['-c', `${env}\nprintf '%s|%s|%s' "$NONCE" "$PROJECT" "$VERBOSE"`], { encoding: 'utf8' });
  assert.is(r.stdout, "n1|/a b/it's|0");
});

test('commandScript: environment, cd, exec with quoting; runs under sh', () => {
  const s = commandScript({ argv: ['sh', '-c', 'echo "$1:$TSBPF_VM:$CI:$HOME"; exit 3', 'x', "it's"], project: tmp, env: { PATH: '/usr/bin:/bin', HOME: '/root', CI: 'true', LANG: undefined } });
  assert.not.match(s, /LANG/);
  const r = spawnSync('sh', ['-c', s], { encoding: 'utf8', env: {} });
  assert.is(r.status, 3);
  assert.is(r.stdout.trim(), `it's:${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}:true:/root`);
  assert.is(shq("a'b"), `'a'\\''b'`);
});

test('initScript lists the modules it is given', () => {
  assert.match(initScript([]), /^for m in ; do$/m);
  assert.ok(WANTED_MODULES.includes('9p') && WANTED_MODULES.includes('virtio_pci'));
  assert.match(initScript(['a', { name: 'b', optional: true }]), /^for m in a; do\n.*fail.*\ndone\nfor m in b; do\n.*warn.*\ndone\n/m);
});

test('/init module loading: a required module that fails stops the boot, an optional one warns and the rest go on', () => {
  const script = moduleLoadScript([{ name: 'r1' }, { name: 'o1', optional: true }, { name: 'bad', optional: true }, { name: 'o2', optional: true }, { name: 'r2' }, { name: 'rbad' }, { name: 'r3' }]);
  assert.equal(script.match(/^for m in .*$/gm), ['for m in r1; do', 'for m in o1 bad o2; do', 'for m in r2 rbad r3; do']);
  const init = initScript(['x']);
  const warnFn = init.slice(init.indexOf('warn() {'), init.indexOf('}', init.indexOf('warn() {')) + 1);
  const sh = `NONCE=n1
insmod() { case "$1" in */bad.ko|*/rbad.ko) echo "insmod: can't insert '$1': No such device" >&2; return 1;; esac; echo "loaded $1"; }
fail() { echo "TSBPF_VM_ERROR:$NONCE=$*"; exit 9; }
${warnFn}
${script}echo after`;
  const r = spawnSync('sh', ['-c', sh], { encoding: 'utf8' });
  assert.is(r.status, 9, r.stderr);
  assert.is(r.stdout, [
    'loaded /modules/r1.ko',
    "TSBPF_VM_WARN:n1=optional module bad did not load (insmod: can't insert '/modules/bad.ko': No such device); continuing without it",
    'loaded /modules/r2.ko',
    'TSBPF_VM_ERROR:n1=insmod rbad failed',
    '',
  ].join('\n'));
  assert.match(r.stderr, /can't insert '\/modules\/rbad\.ko'/);
  // a multi-line insmod message stays on the marker's line
  const two = spawnSync('sh', ['-c', `NONCE=n1\ninsmod() { printf 'one\\ntwo\\n'; return 1; }\n${warnFn}\n${moduleLoadScript([{ name: 'm', optional: true }])}`], { encoding: 'utf8' });
  assert.is(two.stdout, 'TSBPF_VM_WARN:n1=optional module m did not load (one two); continuing without it\n');
});

test('baseInitramfs: the module lists are part of the cache key', () => {
  const dir = fakeModulesTree();
  const busybox = path.join(tmp, 'busybox');
  writeFileSync(busybox, fakeStaticElf());
  const cacheDir = path.join(tmp, 'initramfs-cache');
  const logs: string[] = [];
  const a = baseInitramfs({ cacheDir, release: '6.9.0-test', modulesDir: dir, busybox, log: (m) => logs.push(m) });
  assert.not.ok(a.cached);
  assert.equal(a.optional, CT_ORDER);
  assert.match(logs[0]!, /^initramfs: modules virtio .* 9p; optional: nf_defrag_ipv6 .* nf_conntrack; built in: virtio_pci_legacy_dev$/);
  assert.ok(baseInitramfs({ cacheDir, release: '6.9.0-test', modulesDir: dir, busybox }).cached);
  const b = baseInitramfs({ cacheDir, release: '6.9.0-test', modulesDir: dir, busybox, optional: [] });
  assert.not.ok(b.cached);
  assert.is.not(b.file, a.file);
  assert.not.ok(parseCpio(readFileSync(b.file)).some((e) => e.name === 'modules/nf_conntrack.ko'));
  assert.ok(baseInitramfs({ cacheDir, release: '6.9.0-test', modulesDir: dir, busybox, optional: [] }).cached);
  const c = baseInitramfs({ cacheDir, release: '6.9.0-test', modulesDir: dir, busybox, wanted: [...WANTED_MODULES, 'ext4'], optional: [] });
  assert.is.not(c.file, b.file);
});

// ---- console markers and exit codes ---------------------------------------------------------

test('ConsoleParser: strips markers (any chunking), keeps output, ignores foreign nonces', () => {
  const stream = 'boot noise\r\nTSBPF_VM_RUN:abc\r\nhello\nTSBPF_VM_EXIT:zzz=7\nno newline at endTSBPF_VM_EXIT:abc=3\r\n[ 4.8] reboot: Power down\r\n';
  for (const [size, keep] of [[1, true], [2, false], [3, true], [7, false], [1000, true], [1000, false]] as const) {
    const p = new ConsoleParser('abc', { keepAfterExit: keep });
    let out = '';
    const events: unknown[] = [];
    for (let i = 0; i < stream.length; i += size) {
      const r = p.feed(stream.slice(i, i + size));
      out += r.out; events.push(...r.events);
    }
    out += p.flush();
    assert.is(out, `boot noise\nhello\nTSBPF_VM_EXIT:zzz=7\nno newline at end${keep ? '[ 4.8] reboot: Power down\n' : ''}`, `chunk ${size}`);
    assert.equal(events, [{ type: 'run' }, { type: 'exit', code: 3 }], `chunk ${size}`);
  }
  const p = new ConsoleParser('abc');
  assert.equal(p.feed('TSBPF_VM_ERROR:abc=mount of the host root failed\n').events, [{ type: 'error', message: 'mount of the host root failed' }]);
  assert.equal(p.feed('TSBPF_VM_WARN:abc=optional module x did not load (No such device); continuing without it\r\n').events,
    [{ type: 'warn', message: 'optional module x did not load (No such device); continuing without it' }]);
  assert.is(p.feed('partial TSBPF_VM').out, 'partial ');
  assert.is(p.flush(), 'TSBPF_VM');
});

test('exitStatus: the command\'s code; 124 on timeout; 125 when the guest failed or said nothing', () => {
  assert.is(exitStatus({ exitCode: 3 }), 3);
  assert.is(exitStatus({ exitCode: 0 }), 0);
  assert.is(exitStatus({ exitCode: 3, timedOut: true }), 124);
  assert.is(exitStatus({ error: 'insmod 9p failed' }), 125);
  assert.is(exitStatus({}), 125);
});

test('ConsoleParser: a kernel message on the same line after the exit code does not hide it', () => {
  const p = new ConsoleParser('n1');
  const r = p.feed('TSBPF_VM_RUN:n1\nok\nTSBPF_VM_EXIT:n1=3[   15.20] sysrq: Power Off\n');
  assert.equal(r.events.map((e: { type: string; code?: number }) => e.code ?? e.type), ['run', 3]);
  const exit = r.events.find((e: { type: string; code?: number }) => e.type === 'exit') as { code: number };
  assert.is(exitStatus({ exitCode: exit.code }), 3, 'the parsed exit code is what the runner returns');
});

test('parseArgs', () => {
  const o = parseArgs(['--kernel', '6.12', '--timeout', '60', '--mem', '4096', '--', 'node', '-e', '1']);
  assert.is(o.kernel, '6.12'); assert.is(o.timeout, 60); assert.is(o.mem, 4096); assert.equal(o.command, ['node', '-e', '1']);
  assert.is(parseArgs(['--kernel-image', '/k', '--modules', '/m', '--', 'true']).modules, '/m');
  assert.throws(() => parseArgs(['--kernel', '6.1']), /no command/);
  assert.throws(() => parseArgs(['--', 'true']), /one of --kernel/);
  assert.throws(() => parseArgs(['--kernel', '6.1', '--kernel-image', 'x', '--', 'true']), /one of --kernel/);
  assert.throws(() => parseArgs(['--kernel', 'latest', '--', 'true']), /expected one of 5\.10, 6\.1, 6\.12, 7, sid/);
  assert.throws(() => parseArgs(['--kernel', '4.19', '--', 'true']), /expected one of/);
  for (const k of ['5.10', '7', 'sid']) assert.is(parseArgs(['--kernel', k, '--', 'true']).kernel, k);
  assert.throws(() => parseArgs(['--kernel', '6.1', '--modules', 'x', '--', 'true']), /goes with --kernel-image/);
  assert.throws(() => parseArgs(['--kernel', '6.1', '--timeout', 'x', '--', 'true']), /positive/);
  assert.throws(() => parseArgs(['--frob', '--', 'true']), /unknown option/);
});

test('isStaticElf', () => {
  const f = path.join(tmp, 'static');
  writeFileSync(f, fakeStaticElf());
  assert.ok(isStaticElf(f));
  assert.not.ok(isStaticElf(process.execPath)); // node is dynamically linked
});

// ---- the runner end to end, with a fake qemu ------------------------------------------------

/** A qemu stand-in: reads the per-run archive from -initrd, prints the markers with its
 * nonce and runs cmd.sh on the host (FAKE_QEMU=hang|error|silent change that). */
function fakeQemu(): string {
  const bin = path.join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  const f = path.join(bin, 'qemu-system-x86_64');
  writeFileSync(f, `#!${process.execPath}
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
const { parseCpio } = await import(${JSON.stringify(path.join(root, 'scripts/vm/initramfs.mjs'))});
const a = process.argv.slice(2);
const files = new Map(parseCpio(readFileSync(a[a.indexOf('-initrd') + 1])).map((e) => [e.name, e.data.toString()]));
const nonce = /NONCE='([^']*)'/.exec(files.get('tsbpf/run.env'))[1];
const mode = process.env.FAKE_QEMU;
process.stdout.write('[    0.000] Linux version fake\\r\\n');
if (mode === 'hang') setInterval(() => {}, 1000);
else if (mode === 'silent') process.exit(0);
else if (mode === 'error') { process.stdout.write('TSBPF_VM_ERROR:' + nonce + '=insmod 9p failed\\n'); }
else {
  if (mode === 'warn') process.stdout.write('TSBPF_VM_WARN:' + nonce + '=optional module nf_conntrack did not load (Unknown symbol in module); continuing without it\\r\\n');
  writeFileSync(process.env.FAKE_QEMU_ARGS, JSON.stringify(a));
  process.stdout.write('TSBPF_VM_RUN:' + nonce + '\\r\\n');
  const r = spawnSync('sh', ['-c', files.get('tsbpf/cmd.sh')], { stdio: ['ignore', 'inherit', 'inherit'], env: {} });
  process.stdout.write('TSBPF_VM_EXIT:' + nonce + '=' + r.status + '\\r\\n[    5.0] reboot: Power down\\r\\n');
}
`);
  chmodSync(f, 0o755);
  return bin;
}

function runFake(mode: string, command: string[], extra: string[] = []) {
  const bin = fakeQemu();
  const kernel = path.join(tmp, 'bzImage-fake');
  writeFileSync(kernel, fakeBzImage('6.9.0-test (fake) #1'));
  const busybox = path.join(tmp, 'busybox');
  writeFileSync(busybox, fakeStaticElf());
  const argsFile = path.join(tmp, 'qemu-args.json');
  rmSync(argsFile, { force: true });
  const r = spawnSync(path.join(root, 'scripts/vm-run'), ['--kernel-image', kernel, '--modules', fakeModulesTree(), '--accel', 'tcg', ...extra, '--', ...command], {
    encoding: 'utf8', cwd: root, timeout: 60_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: path.join(tmp, 'cache'), TSBPF_BUSYBOX: busybox, FAKE_QEMU: mode, FAKE_QEMU_ARGS: argsFile, CI: 'ci-value' },
  });
  return { ...r, qemuArgs: existsSync(argsFile) ? JSON.parse(readFileSync(argsFile, 'utf8')) as string[] : [] };
}

test('runner: exit code of the command, output streamed without markers, env passed', () => {
  const r = runFake('run', ['sh', '-c', 'echo "out $TSBPF_VM $CI $HOME $(pwd)"; echo err >&2; exit 3']);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stdout, `[    0.000] Linux version fake\nout ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()} ci-value /root ${root}\n`);
  assert.match(r.stderr, /vm: booting 6\.9\.0-test \(tcg, 2 vCPUs, 2048 MiB/);
  assert.match(r.stderr, /vm: running \(booted in [\d.]+s\)/);
  assert.match(r.stderr, /vm: exit 3; .*boot [\d.]+s, run [\d.]+s/);
  const a = r.qemuArgs;
  assert.ok(a.includes('local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'), a.join(' '));
  assert.ok(a.includes(`local,path=${root},mount_tag=project,security_model=none,multidevs=remap`));
  assert.ok(a.includes('-no-reboot'));
  assert.match(a[a.indexOf('-append') + 1]!, /console=ttyS0 panic=-1 quiet/);
  assert.is(runFake('run', ['true']).status, 0);
});

test('runner: an optional module that did not load is a warning on stderr (even with --quiet), not a failure', () => {
  const r = runFake('warn', ['sh', '-c', 'echo hi; exit 4'], ['--quiet']);
  assert.is(r.status, 4, r.stderr);
  assert.is(r.stdout, '[    0.000] Linux version fake\nhi\n');
  assert.is(r.stderr, 'vm: warning: optional module nf_conntrack did not load (Unknown symbol in module); continuing without it\n');
});

test('runner: timeout -> 124 and qemu killed; guest error -> 125; silent guest -> 125', () => {
  const t0 = Date.now();
  const t = runFake('hang', ['true'], ['--timeout', '1']);
  assert.is(t.status, 124, t.stderr);
  assert.match(t.stderr, /timeout: the VM ran longer than 1s/);
  assert.ok(Date.now() - t0 < 20_000);
  const ps = spawnSync('pgrep', ['-f', path.join(tmp, 'bin', 'qemu-system-x86_64')], { encoding: 'utf8' });
  assert.is(ps.stdout.trim(), '', 'fake qemu left running');
  const e = runFake('error', ['true']);
  assert.is(e.status, 125);
  assert.match(e.stderr, /guest setup failed: insmod 9p failed/);
  const s = runFake('silent', ['true']);
  assert.is(s.status, 125);
  assert.match(s.stderr, /stopped without reporting an exit code/);
});

// ---- test matrix (npm run test:vm) ------------------------------------------------------------

test('matrix: run-tests summary, CLI tallies, table, arguments', () => {
  assert.equal(parseSummary('# test/kernel\n...\n\n37 passed, 1 failed, 2 skipped\n'), { passed: 37, failed: 1, skipped: 2 });
  assert.is(parseSummary('crashed'), undefined);
  const doc = JSON.stringify({ objects: [{ file: 'a.o', programs: [
    { name: 'p1', verdict: 'accepted' }, { name: 'p2', verdict: 'rejected', error: 'R1 invalid mem access\nmore' }, { name: 'p3', verdict: 'skipped' }] }] });
  assert.equal(tallyCli('a.o', 1, doc, ''), { passed: 1, failed: 1, skipped: 1, rejected: ['a.o p2: R1 invalid mem access'], expected: [] });
  assert.equal(tallyCli('b.o', 2, '', 'load: b.o, offset 0: bad magic\n'), { passed: 0, failed: 1, skipped: 0, rejected: ['b.o: exit 2: load: b.o, offset 0: bad magic'], expected: [] });
  const table = formatTable([
    { line: '6.1', kernel: '6.1.0-56-amd64', suite: 'full', status: 0, secs: 200, tests: { passed: 38, failed: 0, skipped: 1 }, cli: { passed: 39, failed: 0, skipped: 0 } },
    { line: '5.10', kernel: '5.10.0-46-amd64', suite: 'smoke', status: 0, secs: 90, tests: { passed: 20, failed: 0, skipped: 0 }, cli: { passed: 30, failed: 0, skipped: 0 } },
    { line: '6.12', status: 124, secs: 1200 },
  ]);
  assert.match(table, /^6\.1\.0-56-amd64 +38 +0 +1 +39 +0 +0 +200s  full$/m);
  assert.match(table, /^5\.10\.0-46-amd64 +20 +0 +0 +30 +0 +0 +90s  smoke$/m);
  assert.match(table, /^6\.12 \(no result: exit 124\) +- +- +- +- +- +- +1200s  -$/m);
  assert.equal(parseMatrixArgs([]), { kernels: ['5.10', '6.1', '6.12', '7'], smoke: [], jobs: 2, cpus: 1, only: [], timeout: 3000 }, 'the kernels CI runs: all four, in full (MATRIX_DEFAULTS)');
  assert.equal(parseMatrixArgs(['--kernels', '6.12', '--only', 'cli', '--timeout', '60', '--smoke', '6.1,7', '--jobs', '2', '--cpus', '1']), { kernels: ['6.12'], smoke: ['6.1', '7'], jobs: 2, cpus: 1, only: ['cli'], timeout: 60 });
  assert.throws(() => parseMatrixArgs(['--x']), /unknown/);
  assert.throws(() => parseMatrixArgs(['--jobs', '0']), /--jobs N > 0/);
});

test('matrix: the smoke run takes the attach, events, feature, fixture and memlock kernel tests', () => {
  const re = new RegExp(SMOKE_TESTS);
  const picked = readdirSync(path.join(root, 'test/kernel')).filter((f) => re.test(f)).sort();
  for (const f of ['attach-net', 'attach-trace', 'attach-uretprobe', 'sys-attach', 'cli-attach', 'events', 'events-uretprobe', 'cli-events', 'user-ringbuf', 'features', 'fixtures', 'memlock']) {
    assert.ok(picked.includes(`${f}.test.ts`), `${f}.test.ts is in the smoke run (and exists)`);
  }
  for (const f of ['load.test.ts', 'cli.test.ts', 'struct-ops.test.ts', 'robustness.test.ts']) assert.not.ok(picked.includes(f), `${f} is not`);
});

test('matrix: the modules whose BTF must hold the test symbols follow the fixtures\' requirements (none on 5.10)', () => {
  const reqs = loadRequirements();
  assert.is(expectedModules('5.10.0-46-amd64', reqs), 'none');
  assert.is(expectedModules('6.1.0-57-amd64', reqs), 'nf_conntrack,x_tables');
  assert.is(expectedModules('7.2.13+deb14-amd64', reqs), 'nf_conntrack,x_tables');
});

test('matrix: a guest test run that crashed or ran nothing is a failed row, never "0 0 0"', () => {
  // run-tests prints its closing line even when uvu died before its own summary
  const crashed = '# test/kernel\nrun-tests: uvu printed no summary for test/kernel (exit 1)\n\n0 passed, 0 failed, 0 skipped\n';
  const c = testsResult(crashed, 1, null);
  assert.ok(c.failed > 0 && c.error !== undefined, JSON.stringify(c));
  assert.match(c.error!, /exit 1/);
  const none = testsResult('', null, 'SIGKILL');
  assert.ok(none.failed > 0 && /SIGKILL/.test(none.error!), JSON.stringify(none));
  const empty = testsResult('\n0 passed, 0 failed, 0 skipped\n', 0, null);
  assert.ok(empty.failed > 0 && /no test ran/.test(empty.error!), JSON.stringify(empty));
  // a crash after some tests passed still fails the row
  const partial = testsResult('12 passed, 0 failed, 0 skipped\n', 134, null);
  assert.equal({ passed: partial.passed, failed: partial.failed }, { passed: 12, failed: 1 });
  assert.equal(testsResult('38 passed, 0 failed, 1 skipped\n', 0, null), { passed: 38, failed: 0, skipped: 1 });
  assert.equal(testsResult('37 passed, 1 failed, 0 skipped\n', 1, null), { passed: 37, failed: 1, skipped: 0 });

  const ok = { line: '6.1', kernel: '6.1.0-56-amd64', status: 0, secs: 1, tests: { passed: 3, failed: 0, skipped: 0 }, cli: { passed: 2, failed: 0, skipped: 0 } };
  assert.is(rowFailed(ok, []), false);
  assert.is(rowFailed({ ...ok, tests: { passed: 0, failed: 0, skipped: 0 } }, []), true, 'a row where no test ran');
  assert.is(rowFailed({ ...ok, status: 1 }, []), true, 'the guest suite exited non-zero');
  assert.is(rowFailed({ ...ok, tests: undefined }, []), true, 'no test result');
  assert.is(rowFailed({ ...ok, tests: undefined }, ['cli']), false, '--only cli');
  assert.is(rowFailed({ ...ok, cli: { passed: 0, failed: 0, skipped: 0 } }, []), true, 'the CLI accepted nothing');
  assert.is(rowFailed({ ...ok, kernel: undefined }, []), true);
  const table = formatTable([{ ...ok, tests: c }]);
  assert.match(table, /^6\.1\.0-56-amd64 +0 +1 +0 /m, table);
});

test('fixture requirements: one list; a kernel must refuse exactly as listed, and accept the rest', () => {
  const reqs = loadRequirements();
  assert.ok(reqs.length > 5);
  const objs = new Set(readdirSync(path.join(root, 'bpf-objs')).filter((f) => f.endsWith('.bpf.o')));
  for (const r of reqs) {
    assert.ok(objs.has(r.object), `${r.object} is a fixture`);
    assert.is([r.since, r.from, r.always].filter((x) => x !== undefined).length, 1, `${describe(r)}: since, from or always`);
    assert.is([r.missing, r.reason, r.verifier].filter((x) => x !== undefined).length, 1, `${describe(r)}: one way to match`);
    assert.ok(r.why.length > 10, `${describe(r)}: says why`);
    if (r.program) assert.ok(loadCollectionSpec(path.join(root, 'bpf-objs', r.object)).programs.has(r.program), `${describe(r)}: program exists`);
  }
  const loop = reqs.find((r) => r.program === 'loop_sock')!;
  assert.ok(refusedOn(loop, '5.10.0-46-amd64') && refusedOn(loop, '5.16.20') && !refusedOn(loop, '5.17.0') && !refusedOn(loop, '6.1.0-57-amd64'));
  // `from`: refused from a release on (none of the fixtures needs it today)
  const dce = { object: 'map_types.bpf.o', program: 'use_all', from: '7.2', verifier: 'slot poisoned by dead code elimination', why: 'a refusal that newer kernels give' };
  assert.ok(!refusedOn(dce, '6.18.44') && refusedOn(dce, '7.2.13+deb14-amd64'));
  const untyped = reqs.find((r) => r.program === 'custom_prog')!;
  assert.ok(refusedOn(untyped, '5.10.0-46-amd64') && refusedOn(untyped, '6.18.44'), 'always: on every kernel');
  assert.match(describe(untyped), /refused on every kernel \(reason 'missing-program-type'\)/);
  assert.is(versionNumber('6.12.117+deb12-amd64'), 6012);
  const e = expectationsFor(reqs, 'bpf-objs/map_types.bpf.o', '5.10.0-46-amd64');
  assert.is(e.object?.missing?.feature, 'bloom_filter');
  assert.ok(matchesRefusal(loop, { why: { missing: { kind: 'helper', feature: 'bpf_loop' } } }));
  assert.not.ok(matchesRefusal(loop, { why: { missing: { kind: 'helper', feature: 'bpf_for_each_map_elem' } } }), 'another helper is not that refusal');
  assert.not.ok(matchesRefusal(loop, { error: "calls bpf_loop (helper 181)" }), 'typed fields, not text, where the list gives them');
  assert.ok(matchesRefusal(dce, { error: 'verifier rejected', tail: ['96: (85) call bpf_map_peek_elem#89', 'reading from stack R2 off -8+0 size 4, slot poisoned by dead code elimination'] }));

  // the matrix's CLI tally against the list
  const cliDoc = (objects: unknown[]) => JSON.stringify({ objects });
  const bpf2bpf = (loopVerdict: object) => cliDoc([{ file: 'bpf-objs/bpf2bpf.bpf.o', programs: [{ name: 'calls_xdp', verdict: 'accepted' }, { name: 'loop_sock', ...loopVerdict }, { name: 'foreach_tc', verdict: 'accepted' }] }]);
  const refused = { verdict: 'rejected', error: "program 'loop_sock' calls bpf_loop (helper 181), which this kernel does not have (Linux 5.17+)", why: { missing: { kind: 'helper', feature: 'bpf_loop', since: '5.17', reason: 'kernel-lacks' } } };
  const on516 = tallyCli('bpf2bpf.bpf.o', 1, bpf2bpf(refused), '', { release: '5.16.0', reqs: reqs.filter((r) => r.object === 'bpf2bpf.bpf.o' && r.program === 'loop_sock') });
  assert.equal([on516.passed, on516.failed, on516.expected.length], [3, 0, 1], JSON.stringify(on516));
  const wrongWhy = tallyCli('bpf2bpf.bpf.o', 1, bpf2bpf({ ...refused, why: { reason: 'kfunc-missing' } }), '', { release: '5.16.0', reqs });
  assert.is(wrongWhy.failed, 1, 'refused for another reason: failed');
  const acceptedOld = tallyCli('bpf2bpf.bpf.o', 0, bpf2bpf({ verdict: 'accepted' }), '', { release: '5.16.0', reqs: reqs.filter((r) => r.program === 'loop_sock') });
  assert.is(acceptedOld.failed, 1, 'accepted where the list says refused: the list is wrong, failed');
  assert.match(acceptedOld.rejected[0]!, /loop_sock: accepted, but the requirements say bpf2bpf\.bpf\.o loop_sock: refused before 5\.17/);
  const onNew = tallyCli('bpf2bpf.bpf.o', 1, bpf2bpf(refused), '', { release: '6.1.0', reqs });
  assert.is(onNew.failed, 1, 'refused on a kernel that should take it');
  const objErr = cliDoc([{ file: 'bpf-objs/map_types.bpf.o', error: "map 'bloom' is a bloom_filter map", errorWhy: { missing: { kind: 'map-type', feature: 'bloom_filter' } }, programs: [{ name: 'use_all', verdict: 'skipped' }] }]);
  assert.equal(tallyCli('map_types.bpf.o', 1, objErr, '', { release: '5.10.0', reqs }).passed, 1, 'an expected object refusal passes once');
  assert.equal(tallyCli('map_types.bpf.o', 1, objErr, '', { release: '6.1.0', reqs }).failed, 1, 'an object that does not load is a failure, not skipped programs');
});

// ---- one real boot -----------------------------------------------------------------------------

const real = process.env.TSBPF_VM_TESTS === '1';
if (!real) console.log('# vm: SKIP real boot (scripts/vm-run --kernel 6.1 -- sh -c "exit 3"): slow (kernel download + TCG boot); set TSBPF_VM_TESTS=1 to run it');
(real ? test : test.skip)('real boot: scripts/vm-run --kernel 6.1 -- sh -c "exit 3" exits 3', () => {
  const r = spawnSync(path.join(root, 'scripts/vm-run'), ['--kernel', '6.1', '--timeout', '300', '--', 'sh', '-c', 'test "$TSBPF_VM" = "$(uname -r)" && exit 3'], {
    cwd: root, encoding: 'utf8', timeout: 900_000,
  });
  process.stderr.write(r.stderr.split('\n').filter((l) => l.startsWith('vm: exit')).map((l) => `# ${l}\n`).join(''));
  assert.is(r.status, 3, r.stderr);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
