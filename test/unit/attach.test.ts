// The pure parts of attaching: SEC() names -> targets (libbpf's auto-attach rules), ELF
// symbol -> file offset for uprobes (checked against readelf), netlink message encoding,
// perf_event_attr encoding, CPU lists.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sectionTarget, splitOffset, sectionRetprobe } from '../../src/link/auto.js';
import { findFunction, globRegExp, matchFunctions, readExecutable } from '../../src/elf/executable.js';
import { encodeNlAttrs, parseNlAttrs, parseNlError, parseNlMessages, NLMSGERR_SIZE } from '../../src/sys/netlink.js';
import { encodePerfEventAttr, PERF_ATTR_FLAGS_WORD, PERF_ATTR_SIZE } from '../../src/sys/perf.js';
import { onlineCpus } from '../../src/link/perf-event.js';
import { ElfError } from '../../src/errors.js';
import { sectionDef, attachTarget } from '../../src/spec/sections.js';

function target(section: string) {
  const def = sectionDef(section)!;
  return sectionTarget({ section, type: def.progType, attachType: def.attachType, attachTo: attachTarget(section) });
}

test('SEC() names to targets, as libbpf auto-attaches them', () => {
  assert.equal(target('kprobe/do_unlinkat'), { kind: 'kprobe', function: 'do_unlinkat', retprobe: false });
  assert.equal(target('kprobe/do_sys_open+0x10'), { kind: 'kprobe', function: 'do_sys_open', offset: 16, retprobe: false });
  assert.equal(target('kretprobe/do_sys_open'), { kind: 'kprobe', function: 'do_sys_open', retprobe: true });
  assert.equal(target('kretprobe/do_sys_open+4').kind, 'invalid');
  assert.equal(target('kprobe/bad name').kind, 'invalid');
  assert.equal(target('ksyscall/execve'), { kind: 'ksyscall', syscall: 'execve', retprobe: false });
  assert.equal(target('kretsyscall/execve'), { kind: 'ksyscall', syscall: 'execve', retprobe: true });
  assert.equal(target('uprobe//bin/bash:readline'), { kind: 'uprobe', binary: '/bin/bash', symbol: 'readline', retprobe: false });
  assert.equal(target('uretprobe//bin/bash:readline'), { kind: 'uprobe', binary: '/bin/bash', symbol: 'readline', retprobe: true });
  assert.equal(target('uprobe/libc.so.6:malloc+0x8'), { kind: 'uprobe', binary: 'libc.so.6', symbol: 'malloc', offset: 8, retprobe: false });
  assert.equal(target('uretprobe/libc.so.6:malloc+8').kind, 'invalid');
  assert.match((target('uprobe//bin/bash') as { why: string }).why, /missing ':function\[\+offset\]'/);
  assert.equal(target('uprobe.s//bin/bash:readline'), { kind: 'uprobe', binary: '/bin/bash', symbol: 'readline', retprobe: false });
  assert.equal(target('kprobe.multi/vfs_*'), { kind: 'kprobe_multi', functions: 'vfs_*', retprobe: false });
  assert.equal(target('kretprobe.multi/vfs_rea?'), { kind: 'kprobe_multi', functions: 'vfs_rea?', retprobe: true });
  assert.equal(target('uprobe.multi//usr/lib/libc.so.6:mem*'), { kind: 'uprobe_multi', binary: '/usr/lib/libc.so.6', symbols: 'mem*', retprobe: false });
  assert.equal(target('tracepoint/syscalls/sys_enter_execve'), { kind: 'tracepoint', tracepoint: 'syscalls/sys_enter_execve' });
  assert.equal(target('tp/sched/sched_switch'), { kind: 'tracepoint', tracepoint: 'sched/sched_switch' });
  assert.equal(target('tp/sched').kind, 'invalid');
  assert.equal(target('raw_tp/sys_enter'), { kind: 'raw_tracepoint', tracepoint: 'sys_enter' });
  assert.equal(target('raw_tracepoint.w/bpf_test_finish'), { kind: 'raw_tracepoint', tracepoint: 'bpf_test_finish' });
  for (const s of ['fentry/do_unlinkat', 'fexit/x', 'tp_btf/sched_switch', 'lsm/file_open', 'iter/task', 'freplace/f']) assert.equal(target(s), { kind: 'btf' }, s);
  for (const s of ['kprobe', 'uprobe', 'uretprobe', 'ksyscall', 'tracepoint', 'raw_tp', 'kprobe.multi', 'xdp', 'tcx/ingress', 'cgroup_skb/egress', 'sk_lookup', 'perf_event', 'usdt', 'struct_ops/x']) {
    assert.is(target(s).kind, 'none', s);
  }
  assert.match((target('usdt') as { why: string }).why, /names no probe \(use usdt\/BINARY:PROVIDER:NAME or give \{ binary, provider, name \}\)/);
  assert.equal(target('usdt/libc.so.6:libc:setjmp'), { kind: 'usdt', binary: 'libc.so.6', provider: 'libc', name: 'setjmp' });
  assert.is(sectionTarget({ section: 'nonsense', type: 'kprobe' }).kind, 'none');
});

test('offsets and return probes in section names', () => {
  assert.equal(splitOffset('f+0x1f'), { name: 'f', offset: 31 });
  assert.equal(splitOffset('f+17'), { name: 'f', offset: 17 });
  assert.equal(splitOffset('f+010'), { name: 'f', offset: 8 });
  assert.equal(splitOffset('f'), { name: 'f' });
  assert.is(splitOffset('f+x'), undefined);
  assert.ok(sectionRetprobe('kretprobe/x') && sectionRetprobe('uretprobe.s//a:b') && sectionRetprobe('kretsyscall/x') && sectionRetprobe('kretprobe.multi/x'));
  assert.not.ok(sectionRetprobe('kprobe/x') || sectionRetprobe('uprobe//a:b') || sectionRetprobe('xdp'));
});

function readAt(file: string) {
  const fd = openSync(file, 'r');
  return {
    read: (off: number, len: number) => { const b = Buffer.alloc(len); const n = readSync(fd, b, 0, len, off); return b.subarray(0, n); },
    close: () => closeSync(fd),
  };
}

const READELF = spawnSync('readelf', ['--version']).status === 0;

(READELF ? test : test.skip)('uprobe offsets: symbol address -> file offset through its section, as readelf sees it (PIE, shared library)', () => {
  const files = ['/bin/bash', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/aarch64-linux-gnu/libc.so.6'].filter(existsSync);
  assert.ok(files.length >= 1);
  for (const file of files) {
    const { read, close } = readAt(file);
    try {
      const exe = readExecutable(read, file);
      assert.is(exe.kind, 'dyn', `${file}: PIE / shared object`);
      const secs = spawnSync('readelf', ['-SW', file], { encoding: 'utf8' }).stdout;
      const syms = spawnSync('readelf', ['-sW', '--dyn-syms', file], { encoding: 'utf8' }).stdout;
      const want = file.endsWith('bash') ? 'readline' : 'getppid';
      const m = new RegExp(`^\\s*\\d+:\\s+([0-9a-f]+)\\s+\\d+\\s+FUNC\\s+\\S+\\s+\\S+\\s+(\\d+)\\s+${want}(@\\S*)?$`, 'm').exec(syms)!;
      assert.ok(m, `${file}: readelf lists ${want}`);
      const addr = Number.parseInt(m[1]!, 16), shndx = Number(m[2]);
      const sec = new RegExp(`^\\s*\\[\\s*${shndx}\\]\\s+\\S+\\s+\\S+\\s+([0-9a-f]+)\\s+([0-9a-f]+)`, 'm').exec(secs)!;
      const expected = addr - Number.parseInt(sec[1]!, 16) + Number.parseInt(sec[2]!, 16);
      const f = findFunction(exe, want)!;
      assert.ok(f, `${file}: ${want} found`);
      assert.is(f.offset, expected, `${file}: ${want} file offset`);
      assert.is(exe.fileOffset(addr), expected, `${file}: through the PT_LOAD segment too`);
      assert.ok(matchFunctions(exe, `${want.slice(0, 4)}*`).some((x) => x.offset === expected));
      assert.is(findFunction(exe, 'tsbpf_no_such_function'), undefined);
    } finally { close(); }
  }
});

const GCC = spawnSync('gcc', ['--version']).status === 0;

(READELF && GCC ? test : test.skip)('uprobe offsets in a non-PIE executable (ET_EXEC: fixed addresses) and a PIE one built from the same source', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-exec-'));
  try {
    for (const [name, flags] of [['nopie', ['-no-pie', '-fno-pie']], ['pie', ['-pie', '-fpie']]] as const) {
      const bin = path.join(dir, name);
      const cc = spawnSync('gcc', ['-O1', ...flags, '-o', bin, 'test/fixtures/attach_target.c'], { encoding: 'utf8' });
      assert.is(cc.status, 0, cc.stderr);
      const { read, close } = readAt(bin);
      try {
        const exe = readExecutable(read, bin);
        assert.is(exe.kind, name === 'nopie' ? 'exec' : 'dyn');
        const syms = spawnSync('readelf', ['-sW', bin], { encoding: 'utf8' }).stdout;
        const m = /^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+FUNC\s+\S+\s+\S+\s+(\d+)\s+tsbpf_target_add$/m.exec(syms)!;
        const secs = spawnSync('readelf', ['-SW', bin], { encoding: 'utf8' }).stdout;
        const sec = new RegExp(`^\\s*\\[\\s*${m[2]}\\]\\s+\\S+\\s+\\S+\\s+([0-9a-f]+)\\s+([0-9a-f]+)`, 'm').exec(secs)!;
        const expected = Number.parseInt(m[1]!, 16) - Number.parseInt(sec[1]!, 16) + Number.parseInt(sec[2]!, 16);
        assert.is(findFunction(exe, 'tsbpf_target_add')!.offset, expected, name);
        if (name === 'nopie') assert.ok(findFunction(exe, 'tsbpf_target_add')!.address > 0x400000, 'a fixed address, not a file offset');
      } finally { close(); }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('uprobe offsets: what is not an ELF executable is an ElfError naming the file', () => {
  const bytes = Buffer.from('{"name": "tsbpf"}');
  const read = (off: number, len: number) => bytes.subarray(off, off + len);
  assert.throws(() => readExecutable(read, 'package.json'), (e: unknown) => e instanceof ElfError && e.file === 'package.json' && /not an ELF file/.test(e.message));
  const elf32 = Buffer.alloc(64); elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
  assert.throws(() => readExecutable((o, l) => elf32.subarray(o, o + l), 'x32'), /only 64-bit little-endian/);
  const rel = Buffer.alloc(64); rel.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]); rel.writeUInt16LE(1, 16);
  assert.throws(() => readExecutable((o, l) => rel.subarray(o, o + l), 'obj.o'), /neither an executable nor a shared object/);
});

test('globs as libbpf matches them (* and ?)', () => {
  assert.ok(globRegExp('vfs_*').test('vfs_read'));
  assert.ok(globRegExp('vfs_rea?').test('vfs_read'));
  assert.not.ok(globRegExp('vfs_rea?').test('vfs_readv'));
  assert.ok(globRegExp('a.b').test('a.b'));
  assert.not.ok(globRegExp('a.b').test('axb'));
});

test('netlink attributes: 4-byte aligned TLVs, nested ones flagged, parsed back; an extended ACK message', () => {
  const bytes = encodeNlAttrs([{ type: 1, value: 'bpf' }, { type: 2, value: [{ type: 6, value: 7 }, { type: 7, value: 'p:[1]' }] }]);
  assert.is(bytes.length % 4, 0);
  const top = parseNlAttrs(bytes);
  assert.equal(Buffer.from(top.get(1)!).toString(), 'bpf\0');
  const inner = parseNlAttrs(top.get(2)!);
  assert.is(new DataView(inner.get(6)!.buffer, inner.get(6)!.byteOffset).getUint32(0, true), 7);
  assert.is(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8 + 2, true), 2 | 0x8000, 'NLA_F_NESTED');
  // NLMSG_ERROR, capped, with NLMSGERR_ATTR_MSG
  const body = Buffer.concat([Buffer.alloc(NLMSGERR_SIZE), encodeNlAttrs([{ type: 1, value: 'Exclusivity flag on' }])]);
  body.writeInt32LE(-17, 0);
  assert.equal(parseNlError(body, 0x200), { errno: 17, message: 'Exclusivity flag on' });
  assert.equal(parseNlError(body, 0), { errno: 17 });
  const msg = Buffer.alloc(16 + 4); msg.writeUInt32LE(20, 0); msg.writeUInt16LE(3, 4); msg.writeUInt32LE(9, 8);
  assert.equal(parseNlMessages(msg).map((m) => [m.type, m.seq, m.body.length]), [[3, 9, 4]]);
});

test('perf_event_attr: size, one-bit flags and the string pointer of config1', () => {
  const a = encodePerfEventAttr({ type: 6, config: 1n, kprobe_func: Buffer.from('f\0'), probe_offset: 4 }, ['disabled', 'freq']);
  assert.is(a.bytes.length, PERF_ATTR_SIZE);
  const dv = new DataView(a.bytes.buffer);
  assert.is(dv.getUint32(0, true), 6);
  assert.is(dv.getUint32(4, true), PERF_ATTR_SIZE);
  assert.is(dv.getBigUint64(PERF_ATTR_FLAGS_WORD, true), (1n << 0n) | (1n << 10n));
  assert.ok(dv.getBigUint64(56, true) !== 0n, 'config1 holds the name\'s address');
  assert.is(dv.getBigUint64(64, true), 4n);
  assert.is(a.refs.length, 1);
});

test('online CPU lists', () => {
  assert.equal(onlineCpus('0-3,5\n'), [0, 1, 2, 3, 5]);
  assert.equal(onlineCpus('0'), [0]);
});

test.run();
