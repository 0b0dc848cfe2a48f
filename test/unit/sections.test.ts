import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  sectionDef, attachTarget, findSectionEntry, sectionPatternMatches, sectionLoadAttrs, SECTION_DEFS,
} from '../../src/spec/sections.js';
import { PROG_TYPES, ATTACH_TYPES, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS } from '../../src/kernel/enums.js';
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, STB_GLOBAL, STT_FUNC } from '../../src/elf/index.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { buildElf, cstr } from '../helpers/elf-builder.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
interface GoldenRow { name: string; ok: boolean; prog_type: number | null; expected_attach_type: number | null }
const golden = JSON.parse(readFileSync(path.join(root, 'test/data/sec-golden.json'), 'utf8')) as { libbpf: string; names: GoldenRow[] };
const goldenByName = new Map(golden.names.map((r) => [r.name, r]));

const ver = (v: string) => v.replace(/^v/, '').split('.').map(Number);
const newer = (a: string, b: string) => { const [x, y] = [ver(a), ver(b)]; return x[0]! > y[0]! || (x[0] === y[0] && x[1]! > y[1]!); };

const numbers = (name: string): [number, number] | null => {
  const d = sectionDef(name);
  if (!d) return null;
  return [PROG_TYPES[d.progType as keyof typeof PROG_TYPES], d.attachType === undefined ? 0 : ATTACH_TYPES[d.attachType as keyof typeof ATTACH_TYPES]];
};

// Rows newer than the golden libbpf (Debian 12: v1.1), transcribed from libbpf 1.6
// section_defs[] independently of src/spec/sections.ts: pattern -> [prog type, attach type].
const NEWER_THAN_GOLDEN: Record<string, [string, string | 0]> = {
  'kprobe.session+': ['kprobe', 'trace_kprobe_session'],
  'uprobe.multi+': ['kprobe', 'trace_uprobe_multi'],
  'uretprobe.multi+': ['kprobe', 'trace_uprobe_multi'],
  'uprobe.session+': ['kprobe', 'trace_uprobe_session'],
  'uprobe.multi.s+': ['kprobe', 'trace_uprobe_multi'],
  'uretprobe.multi.s+': ['kprobe', 'trace_uprobe_multi'],
  'uprobe.session.s+': ['kprobe', 'trace_uprobe_session'],
  'usdt.s+': ['kprobe', 0],
  'tc/ingress': ['sched_cls', 'tcx_ingress'],
  'tc/egress': ['sched_cls', 'tcx_egress'],
  'tcx/ingress': ['sched_cls', 'tcx_ingress'],
  'tcx/egress': ['sched_cls', 'tcx_egress'],
  'netkit/primary': ['sched_cls', 'netkit_primary'],
  'netkit/peer': ['sched_cls', 'netkit_peer'],
  'sk_skb/verdict': ['sk_skb', 'sk_skb_verdict'],
  'cgroup/connect_unix': ['cgroup_sock_addr', 'cgroup_unix_connect'],
  'cgroup/sendmsg_unix': ['cgroup_sock_addr', 'cgroup_unix_sendmsg'],
  'cgroup/recvmsg_unix': ['cgroup_sock_addr', 'cgroup_unix_recvmsg'],
  'cgroup/getpeername_unix': ['cgroup_sock_addr', 'cgroup_unix_getpeername'],
  'cgroup/getsockname_unix': ['cgroup_sock_addr', 'cgroup_unix_getsockname'],
  'struct_ops.s+': ['struct_ops', 0],
  'netfilter': ['netfilter', 'netfilter'],
};

test('golden file comes from libbpf and covers every table row', () => {
  assert.match(golden.libbpf, /^v\d+\.\d+/);
  assert.ok(golden.names.length > 400, `only ${golden.names.length} names`);
  for (const e of SECTION_DEFS) {
    const exact = e.pattern.endsWith('+') ? e.pattern.slice(0, -1) : e.pattern;
    assert.ok(goldenByName.has(exact), `no golden name for ${e.pattern}`);
  }
});

test('sectionDef agrees with libbpf_prog_type_by_name() for every golden name', () => {
  let compared = 0, newerSeen = 0, qmark = 0;
  for (const row of golden.names) {
    if (row.name.startsWith('?')) {
      // libbpf_prog_type_by_name() does not strip '?'; bpf_object__open does.
      assert.is(row.ok, false, `${row.name}: libbpf_prog_type_by_name strips '?'?`);
      const inner = goldenByName.get(row.name.slice(1));
      const d = sectionDef(row.name);
      if (inner) {
        const want = inner.ok ? [inner.prog_type, inner.expected_attach_type] : null;
        assert.equal(numbers(row.name), want, row.name);
      }
      if (d) assert.is(d.autoload, false, row.name);
      qmark++;
      continue;
    }
    const entry = findSectionEntry(row.name);
    if (entry && newer(entry.since, golden.libbpf)) {
      const exp = NEWER_THAN_GOLDEN[entry.pattern];
      assert.ok(exp, `${row.name} matched ${entry.pattern} (since ${entry.since}) which has no hand-written expectation`);
      assert.is(row.ok, false, `${row.name}: golden libbpf already knows it, drop it from the newer list`);
      assert.equal(numbers(row.name), [PROG_TYPES[exp[0] as keyof typeof PROG_TYPES], exp[1] === 0 ? 0 : ATTACH_TYPES[exp[1] as keyof typeof ATTACH_TYPES]], row.name);
      newerSeen++;
      continue;
    }
    const want = row.ok ? [row.prog_type, row.expected_attach_type] : null;
    assert.equal(numbers(row.name), want, `${JSON.stringify(row.name)}: golden ${JSON.stringify(want)}`);
    compared++;
  }
  assert.ok(compared > 450, `compared ${compared}`);
  assert.ok(newerSeen > 20, `newer ${newerSeen}`);
  assert.ok(qmark >= 3);
  for (const p of Object.keys(NEWER_THAN_GOLDEN)) assert.ok(SECTION_DEFS.some((e) => e.pattern === p), `${p} not in table`);
});

test('hand-picked sections', () => {
  const d = (n: string) => sectionDef(n)!;
  assert.is(d('uretprobe').progType, 'kprobe');
  assert.is(d('uretprobe').attachType, undefined);
  assert.is(d('uretprobe/libc.so.6:malloc').progType, 'kprobe');
  const frags = d('xdp.frags');
  assert.is(frags.progType, 'xdp'); assert.is(frags.attachType, 'xdp'); assert.is(frags.xdpFrags, true);
  assert.is(d('xdp').xdpFrags, false); assert.is(d('xdp').expectedAttachTypeOptional, true);
  assert.is(d('xdp.frags/cpumap').attachType, 'xdp_cpumap'); assert.is(d('xdp.frags/cpumap').xdpFrags, true);
  const fs = d('fentry.s/x');
  assert.is(fs.progType, 'tracing'); assert.is(fs.attachType, 'trace_fentry'); assert.is(fs.sleepable, true); assert.is(fs.attachBtf, true);
  assert.is(d('fentry/x').sleepable, false);
  const sp = d('sk_skb/stream_parser');
  assert.is(sp.progType, 'sk_skb'); assert.is(sp.attachType, 'sk_skb_stream_parser'); assert.is(sp.attachable, true); assert.is(sp.expectedAttachTypeOptional, true);
  const c4 = d('cgroup/connect4');
  assert.is(c4.progType, 'cgroup_sock_addr'); assert.is(c4.attachType, 'cgroup_inet4_connect'); assert.is(c4.attachable, true); assert.is(c4.expectedAttachTypeOptional, false);
  assert.is(d('iter/task').progType, 'tracing'); assert.is(d('iter/task').attachType, 'trace_iter');
  const lsm = d('lsm.s/file_open');
  assert.is(lsm.progType, 'lsm'); assert.is(lsm.attachType, 'lsm_mac'); assert.is(lsm.sleepable, true);
  assert.is(d('socket').progType, 'socket_filter');
  assert.is(d('classifier').progType, 'sched_cls'); assert.is(d('tc').progType, 'sched_cls');
  assert.is(d('tc').attachType, undefined);
  assert.is(d('tc/ingress').attachType, 'tcx_ingress');
  assert.is(d('usdt/x:y:z').usdt, true); assert.is(d('kprobe/x').usdt, undefined);
  assert.is(d('syscall').sleepable, true);
  assert.is(d('struct_ops.s/x').sleepable, true);
  assert.is(d('uprobe.multi/x').attachType, 'trace_uprobe_multi');
  assert.is(d('kprobe').pattern, 'kprobe+');
  assert.is(d('kprobe').autoload, true);
  const q = d('?xdp');
  assert.is(q.progType, 'xdp'); assert.is(q.autoload, false);
  assert.is(sectionDef('??xdp'), undefined);
  for (const n of ['.text', 'license', '.maps', 'maps', 'foo', 'xdpfoo', 'kprobex', 'kprobe.multi2/x', 'socket/x', 'sk_skb/skb_verdict', 'xdp/foo', 'tc/foo', '', '?'])
    assert.is(sectionDef(n), undefined, JSON.stringify(n));
});

test('attachTarget', () => {
  assert.is(attachTarget('kprobe/do_sys_open'), 'do_sys_open');
  assert.is(attachTarget('fentry/bpf_fentry_test1'), 'bpf_fentry_test1');
  assert.is(attachTarget('raw_tp/sys_enter'), 'sys_enter');
  assert.is(attachTarget('tp/syscalls/sys_enter_write'), 'syscalls/sys_enter_write');
  assert.is(attachTarget('?fentry.s/x'), 'x');
  assert.is(attachTarget('usdt/libc.so.6:libc:setjmp'), 'libc.so.6:libc:setjmp');
  assert.is(attachTarget('kprobe/'), '');
  assert.is(attachTarget('kprobe'), undefined);
  assert.is(attachTarget('cgroup/connect4'), undefined);
  assert.is(attachTarget('xdp'), undefined);
  assert.is(attachTarget('license'), undefined);
});

test('ProgramSpec.attachTo: the text after the slash, absent when the section name gives none', () => {
  const movImm0Exit = new Uint8Array(16);
  movImm0Exit[0] = 0xb7; // r0 = 0
  movImm0Exit[8] = 0x95; // exit
  const attachTo = (sec: string) => {
    const b = buildElf({
      sections: [
        { name: sec, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: movImm0Exit },
        { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: cstr('GPL'), addralign: 1 },
      ],
      symbols: [{ name: 'prog', section: sec, type: STT_FUNC, bind: STB_GLOBAL, size: 16 }],
    });
    const p = loadCollectionSpec(b.bytes, { file: 'attach-to.o' }).programs.get('prog')!;
    return 'attachTo' in p ? p.attachTo : 'absent';
  };
  assert.is(attachTo('fentry/x'), 'x');
  assert.is(attachTo('fentry/'), 'absent');
  assert.is(attachTo('kprobe/'), 'absent');
  assert.is(attachTo('xdp'), 'absent');
});

test('pattern matching rules of sec_def_matches()', () => {
  assert.ok(sectionPatternMatches('kprobe+', 'kprobe'));
  assert.ok(sectionPatternMatches('kprobe+', 'kprobe/x'));
  assert.not.ok(sectionPatternMatches('kprobe+', 'kprobex'));
  assert.ok(sectionPatternMatches('type/', 'type/x'));
  assert.not.ok(sectionPatternMatches('type/', 'type'));
  assert.ok(sectionPatternMatches('xdp', 'xdp'));
  assert.not.ok(sectionPatternMatches('xdp', 'xdp/x'));
});

test('sectionLoadAttrs gives the numbers sent to BPF_PROG_LOAD', () => {
  assert.equal(sectionLoadAttrs(sectionDef('fentry.s/x')!), { progType: PROG_TYPES.tracing, expectedAttachType: ATTACH_TYPES.trace_fentry, progFlags: BPF_F_SLEEPABLE });
  assert.equal(sectionLoadAttrs(sectionDef('xdp.frags')!), { progType: 6, expectedAttachType: 37, progFlags: BPF_F_XDP_HAS_FRAGS });
  assert.equal(sectionLoadAttrs(sectionDef('kprobe/x')!), { progType: 2, expectedAttachType: 0, progFlags: 0 });
});

const haveGcc = spawnSync('gcc', ['--version']).status === 0 && existsSync('/usr/include/bpf/libbpf.h');
(haveGcc ? test : test.skip)('test/data/sec-golden.json is what scripts/sec-golden.c prints with the system libbpf', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sec-golden-'));
  try {
    const exe = path.join(dir, 'sec-golden');
    const cc = spawnSync('gcc', ['-O2', '-o', exe, path.join(root, 'scripts/sec-golden.c'), '-lbpf'], { encoding: 'utf8' });
    assert.is(cc.status, 0, cc.stderr);
    const run = spawnSync(exe, { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    const now = JSON.parse(run.stdout) as typeof golden;
    if (now.libbpf !== golden.libbpf) return; // another libbpf: the committed file stays the reference
    assert.equal(now, golden);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
