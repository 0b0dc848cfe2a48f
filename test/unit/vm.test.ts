// The VM runner's pieces (scripts/vm): package resolution from apt-cache output, the
// initramfs (modules in dependency order, decompressed; /init; device nodes), the console
// markers and the exit-code plumbing (with a fake qemu that runs the guest's command on the
// host), and one real boot (TSBPF_VM_TESTS=1 only: downloads a kernel and boots it with TCG).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { bzImageVersion, cachedPackages, cacheRoot, matchPackage, parsePolicyCandidate, pickNewest, releaseOfPackage } from '../../scripts/vm/kernels.mjs';
import {
  buildBase, buildRun, commandScript, cpio, initScript, modinfo, parseCpio, resolveModules, shq, WANTED_MODULES,
} from '../../scripts/vm/initramfs.mjs';
import { ConsoleParser, exitStatus } from '../../scripts/vm/guest.mjs';
import { isStaticElf } from '../../scripts/vm/host.mjs';
import { parseArgs } from '../../scripts/vm/run.mjs';
import { parseSummary, tallyCli } from '../../scripts/vm/guest-suite.mjs';
import { formatTable, parseMatrixArgs } from '../../scripts/vm/test-matrix.mjs';

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

/** A minimal ELF64 relocatable with a .modinfo section (what a .ko looks like to us). */
function fakeKo(info: Record<string, string>): Buffer {
  const modinfoData = Buffer.from(Object.entries(info).map(([k, v]) => `${k}=${v}\0`).join(''));
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
 * one absent (fscache), one unrelated module. */
function fakeModulesTree(): string {
  const dir = path.join(tmp, 'modules', '6.9.0-test');
  const put = (rel: string, name: string, depends: string[]) => {
    const f = path.join(dir, 'kernel', rel);
    mkdirSync(path.dirname(f), { recursive: true });
    const ko = fakeKo({ name, depends: depends.join(','), license: 'GPL' });
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
  writeFileSync(path.join(dir, 'modules.builtin'), 'kernel/drivers/virtio/virtio_pci_legacy_dev.ko\nkernel/fs/fat/fat.ko\n');
  return dir;
}

test('modinfo reads .modinfo of an ELF module', () => {
  assert.equal(modinfo(fakeKo({ name: '9p', depends: 'netfs,9pnet', vermagic: '6.9 SMP' })), { name: '9p', depends: 'netfs,9pnet', vermagic: '6.9 SMP' });
  assert.throws(() => modinfo(Buffer.from('not an elf, not at all, no')), /ELF64/);
});

test('resolveModules: wanted modules after their dependencies, decompressed, built-in and absent ones reported', () => {
  const dir = fakeModulesTree();
  const r = resolveModules(dir);
  const names = r.modules.map((m) => m.name);
  assert.equal(names, ['virtio', 'ring_helper', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci', 'netfs', '9pnet', '9pnet_virtio', '9p']);
  assert.equal(r.builtin, ['virtio_pci_legacy_dev']);
  assert.equal(r.absent, ['fscache']);
  for (const m of r.modules) {
    assert.is(m.bytes.readUInt32BE(0), 0x7f454c46, `${m.name} decompressed`);
    for (const d of m.depends) if (names.includes(d)) assert.ok(names.indexOf(d) < names.indexOf(m.name), `${d} before ${m.name}`);
  }
  assert.not.ok(names.includes('ext4'));
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
  assert.match(text, /^for m in virtio ring_helper virtio_ring virtio_pci_modern_dev virtio_pci netfs 9pnet 9pnet_virtio 9p; do$/m);
  for (const needle of ['mount -t 9p -o $opts,ro,cache=loose hostroot $R', 'project "$R$PROJECT"', 'mount -t bpf bpf $R/sys/fs/bpf',
    'mount -t tracefs tracefs $R/sys/kernel/tracing', 'mount -t debugfs debugfs $R/sys/kernel/debug', 'mount -t devtmpfs dev $R/dev',
    'mount -t proc proc $R/proc', 'mount -t sysfs sys $R/sys', 'chroot $R /bin/sh /run/tsbpf/cmd.sh', 'TSBPF_VM_EXIT:$NONCE=$rc', '/proc/sysrq-trigger']) {
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
  assert.is(exitStatus({ exitCode: 3 }), 3);
});

test('parseArgs', () => {
  const o = parseArgs(['--kernel', '6.12', '--timeout', '60', '--mem', '4096', '--', 'node', '-e', '1']);
  assert.is(o.kernel, '6.12'); assert.is(o.timeout, 60); assert.is(o.mem, 4096); assert.equal(o.command, ['node', '-e', '1']);
  assert.is(parseArgs(['--kernel-image', '/k', '--modules', '/m', '--', 'true']).modules, '/m');
  assert.throws(() => parseArgs(['--kernel', '6.1']), /no command/);
  assert.throws(() => parseArgs(['--', 'true']), /one of --kernel/);
  assert.throws(() => parseArgs(['--kernel', '6.1', '--kernel-image', 'x', '--', 'true']), /one of --kernel/);
  assert.throws(() => parseArgs(['--kernel', 'latest', '--', 'true']), /expected a line/);
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
  assert.equal(tallyCli('a.o', 1, doc, ''), { passed: 1, failed: 1, skipped: 1, rejected: ['a.o p2: R1 invalid mem access'] });
  assert.equal(tallyCli('b.o', 2, '', 'load: b.o, offset 0: bad magic\n'), { passed: 0, failed: 1, skipped: 0, rejected: ['b.o: exit 2: load: b.o, offset 0: bad magic'] });
  const table = formatTable([
    { line: '6.1', kernel: '6.1.0-56-amd64', status: 0, secs: 200, tests: { passed: 38, failed: 0, skipped: 1 }, cli: { passed: 39, failed: 0, skipped: 0 } },
    { line: '6.12', status: 124, secs: 1200 },
  ]);
  assert.match(table, /^6\.1\.0-56-amd64 +38 +0 +1 +39 +0 +0 +200s$/m);
  assert.match(table, /^6\.12 \(no result: exit 124\) +- +- +- +- +- +- +1200s$/m);
  assert.equal(parseMatrixArgs([]), { kernels: ['6.1', '6.12'], only: [], timeout: 1200 });
  assert.equal(parseMatrixArgs(['--kernels', '6.12', '--only', 'cli', '--timeout', '60']), { kernels: ['6.12'], only: ['cli'], timeout: 60 });
  assert.throws(() => parseMatrixArgs(['--x']), /unknown/);
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
