// The attr/info tables in src/sys/layout.ts against <linux/bpf.h>: a C probe compiled
// with gcc prints offsetof/sizeof of every field the tables use. Fields newer than the
// header (`since` set) are excluded: the header cannot know them. Also the errno table
// against <asm-generic/errno*.h> and the hint mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ALL_LAYOUTS, PROG_INFO_GPL_WORD, PROG_INFO_SIZE, MAP_INFO_SIZE, BTF_INFO_SIZE,
} from '../../src/sys/layout.js';
import { ERRNO } from '../../src/sys/errno.js';
import { SyscallError, errnoName, errnoNumber, syscallHint } from '../../src/sys/error.js';
import { TsbpfError } from '../../src/errors.js';
import { encodeAttr } from '../../src/sys/attr.js';
import { MAP_CREATE, PROG_LOAD, type Layout } from '../../src/sys/layout.js';
import { LINK_LAYOUTS, LINK_CONSTANTS } from '../../src/sys/link-layout.js';
import {
  PERF_LAYOUTS, PERF_ATTR_FLAG_BITS, PERF_ATTR_FLAGS_WORD, PERF_ATTR_SIZE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_SET_BPF, PERF_FLAG_FD_CLOEXEC, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT, PERF_COUNT_SW_BPF_OUTPUT,
  PERF_COUNT_SW_CPU_CLOCK, PERF_SAMPLE_RAW, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES,
} from '../../src/sys/perf.js';
import { NETLINK_LAYOUTS, NETLINK_CONSTANTS, NLMSGHDR_SIZE, NLMSGERR_SIZE, NLATTR_SIZE, TCMSG_SIZE } from '../../src/sys/netlink.js';
import { CLONE_NEWNET } from '../../src/sys/netns.js';
import { RLIMIT, RLIMIT_MEMLOCK } from '../../src/sys/rlimit.js';

/** Every table checked: the bpf(2) attrs and infos, the link commands, perf_event_attr, netlink headers, struct rlimit. */
const LAYOUTS: readonly Layout[] = [...ALL_LAYOUTS, ...LINK_LAYOUTS, ...PERF_LAYOUTS, ...NETLINK_LAYOUTS, RLIMIT];

/** Constants checked against the macro (or enum) of the header that defines them. */
const CONSTANTS: Record<string, Record<string, number>> = {
  ...LINK_CONSTANTS,
  ...NETLINK_CONSTANTS,
  'linux/perf_event.h': {
    PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_SET_BPF, PERF_FLAG_FD_CLOEXEC, PERF_TYPE_SOFTWARE,
    PERF_TYPE_TRACEPOINT, PERF_TYPE_HARDWARE, PERF_COUNT_SW_BPF_OUTPUT, PERF_COUNT_SW_CPU_CLOCK, PERF_SAMPLE_RAW, PERF_COUNT_HW_CPU_CYCLES,
  },
  'sched.h': { CLONE_NEWNET },
  'sys/resource.h': { RLIMIT_MEMLOCK },
};
const SIZES: Record<string, number> = {
  'struct perf_event_attr': PERF_ATTR_SIZE, 'struct nlmsghdr': NLMSGHDR_SIZE, 'struct nlmsgerr': NLMSGERR_SIZE,
  'struct nlattr': NLATTR_SIZE, 'struct tcmsg': TCMSG_SIZE, 'struct rlimit': RLIMIT.size,
};

const HEADER = '/usr/include/linux/bpf.h';
const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
const haveGcc = gcc.status === 0 && existsSync(HEADER);
if (!haveGcc) console.log(`# sys-offsets: SKIPPING the offsetof probe: ${gcc.status !== 0 ? 'gcc not found' : HEADER + ' missing (install linux-libc-dev)'}`);

function probe(): Map<string, [number, number]> {
  const lines: string[] = [];
  for (const l of LAYOUTS) {
    const base = `${l.ctype}`;
    for (const [name, f] of Object.entries(l.fields)) {
      if (f.since) continue;
      const m = `${l.member}${name}`;
      lines.push(`  printf("%s %zu %zu\\n", "${l.name}.${name}", offsetof(${base}, ${m}), sizeof(((${base} *)0)->${m}));`);
    }
  }
  for (const [, consts] of Object.entries(CONSTANTS)) {
    for (const name of Object.keys(consts)) lines.push(`  printf("const.%s %lld 0\\n", "${name}", (long long)(${name}));`);
  }
  for (const [ctype] of Object.entries(SIZES)) lines.push(`  printf("sizeof.%s %zu 0\\n", "${ctype.replace(' ', '_')}", sizeof(${ctype}));`);
  for (const flag of Object.keys(PERF_ATTR_FLAG_BITS)) {
    lines.push(`  { struct perf_event_attr a; unsigned long long w; memset(&a, 0, sizeof a); a.${flag} = 1; memcpy(&w, (char *)&a + ${PERF_ATTR_FLAGS_WORD}, 8); printf("bit.%s %llu 0\\n", "${flag}", w); }`);
  }
  lines.push(`  printf("perf_flags_word %zu 0\\n", offsetof(struct perf_event_attr, read_format) + 8);`);
  const headers = [...new Set([...LAYOUTS.map((l) => l.header ?? 'linux/bpf.h'), ...Object.keys(CONSTANTS)])];
  const src = `#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
${headers.filter((h) => h !== 'sys/socket.h').map((h) => `#include <${h}>`).join('\n')}
int main(void) {
${lines.join('\n')}
  printf("sizeof.bpf_prog_info %zu 0\\n", sizeof(struct bpf_prog_info));
  printf("sizeof.bpf_map_info %zu 0\\n", sizeof(struct bpf_map_info));
  printf("sizeof.bpf_btf_info %zu 0\\n", sizeof(struct bpf_btf_info));
  printf("gpl_word %zu 0\\n", offsetof(struct bpf_prog_info, ifindex) + sizeof(__u32));
  printf("after_gpl %zu 0\\n", offsetof(struct bpf_prog_info, netns_dev));
  return 0;
}
`;
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-probe-'));
  try {
    writeFileSync(path.join(dir, 'p.c'), src);
    const cc = spawnSync('gcc', ['-o', path.join(dir, 'p'), path.join(dir, 'p.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`probe did not compile:\n${cc.stderr}`);
    const run = spawnSync(path.join(dir, 'p'), { encoding: 'utf8' });
    const out = new Map<string, [number, number]>();
    for (const line of run.stdout.trim().split('\n')) {
      const [k, o, s] = line.split(' ');
      out.set(k!, [Number(o), Number(s)]);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let probed: Map<string, [number, number]> | undefined;
const probeOnce = () => (probed ??= probe());

(haveGcc ? test : test.skip)('attr and info tables match offsetof/sizeof from <linux/bpf.h>', () => {
  const got = probeOnce();
  let checked = 0;
  for (const l of LAYOUTS) {
    for (const [name, f] of Object.entries(l.fields)) {
      if (f.since) continue;
      const h = got.get(`${l.name}.${name}`);
      assert.ok(h, `${l.name}.${name} missing from probe output`);
      assert.equal([f.off, f.size], h, `${l.name}.${name}: table [off,size] vs header`);
      checked++;
    }
  }
  assert.ok(checked > 120, `checked ${checked} fields`);
  assert.is(got.get('sizeof.bpf_prog_info')![0], PROG_INFO_SIZE);
  assert.is(got.get('sizeof.bpf_map_info')![0], MAP_INFO_SIZE);
  assert.is(got.get('sizeof.bpf_btf_info')![0], BTF_INFO_SIZE);
  assert.is(got.get('gpl_word')![0], PROG_INFO_GPL_WORD);
  assert.is(got.get('after_gpl')![0], PROG_INFO_GPL_WORD + 4);
});

(haveGcc ? test : test.skip)('perf_event_attr flag bits, struct sizes and constants match <linux/perf_event.h>, netlink, pkt_cls, if_link', () => {
  const got = probeOnce();
  for (const [flag, bit] of Object.entries(PERF_ATTR_FLAG_BITS)) assert.is(got.get(`bit.${flag}`)?.[0], 2 ** bit, `perf_event_attr.${flag}`);
  assert.is(got.get('perf_flags_word')![0], PERF_ATTR_FLAGS_WORD);
  for (const [ctype, size] of Object.entries(SIZES)) assert.is(got.get(`sizeof.${ctype.replace(' ', '_')}`)?.[0], size, `sizeof(${ctype})`);
  let n = 0;
  for (const consts of Object.values(CONSTANTS)) {
    for (const [name, value] of Object.entries(consts)) { assert.is(got.get(`const.${name}`)?.[0], value, name); n++; }
  }
  assert.ok(n > 40, `checked ${n} constants`);
});

test('fields newer than the header sit after the header fields and do not overlap them', () => {
  for (const l of LAYOUTS) {
    const fields = Object.entries(l.fields);
    for (const [name, f] of fields) {
      if (!f.since) continue;
      assert.ok(f.off >= l.size, `${l.name}.${name} (since ${f.since}) overlaps the header fields`);
      assert.ok(/^\d+\.\d+$/.test(f.since), f.since);
    }
  }
});

test('attr size: end of the last header field, grown only when a newer field is set', () => {
  assert.is(MAP_CREATE.size, 72);
  assert.is(PROG_LOAD.size, 140);
  assert.is(encodeAttr(MAP_CREATE, { map_type: 2 }).bytes.length, 72);
  assert.is(encodeAttr(MAP_CREATE, { map_token_fd: 0 }).bytes.length, 72);
  assert.is(encodeAttr(MAP_CREATE, { map_token_fd: 5 }).bytes.length, 80);
  const a = encodeAttr(MAP_CREATE, { map_type: 2, key_size: 4, map_name: 'a_very_long_map_name_indeed', map_extra: 0x1_0000_0002n });
  const dv = new DataView(a.bytes.buffer, a.bytes.byteOffset);
  assert.is(dv.getUint32(0, true), 2);
  assert.is(dv.getUint32(4, true), 4);
  assert.is(Buffer.from(a.bytes.subarray(28, 44)).toString('latin1'), 'a_very_long_map\0');
  assert.is(dv.getBigUint64(64, true), 0x1_0000_0002n);
});

test('errno table matches <asm-generic/errno-base.h> and <asm-generic/errno.h>', () => {
  const files = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'].filter(existsSync);
  if (files.length < 2) { console.log('# sys-offsets: errno headers missing, checking a few by hand'); }
  let n = 0;
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)/gm)) {
      assert.is(ERRNO[Number(m[2])]?.[0], m[1], `errno ${m[2]}`);
      n++;
    }
  }
  if (files.length === 2) assert.ok(n > 120);
  assert.is(errnoName(1), 'EPERM');
  assert.is(errnoName(2), 'ENOENT');
  assert.is(errnoName(7), 'E2BIG');
  assert.is(errnoName(13), 'EACCES');
  assert.is(errnoName(22), 'EINVAL');
  assert.is(errnoName(28), 'ENOSPC');
  assert.is(errnoName(524), 'ENOTSUPP');
  assert.is(errnoName(9999), 'E9999');
  assert.is(errnoNumber('EBADF'), 9);
  assert.is(errnoNumber('ENOPE'), undefined);
});

test('hints a person can act on', () => {
  assert.match(syscallHint('BPF_PROG_LOAD', 'EPERM'), /CAP_BPF/);
  assert.match(syscallHint('BPF_MAP_CREATE', 'EPERM'), /RLIMIT_MEMLOCK/);
  assert.match(syscallHint('BPF_MAP_CREATE', 'EPERM'), /CAP_PERFMON|CAP_NET_ADMIN/);
  assert.match(syscallHint('BPF_MAP_UPDATE_ELEM', 'EPERM'), /frozen/);
  assert.match(syscallHint('BPF_MAP_CREATE', 'E2BIG'), /older|too big/);
  assert.match(syscallHint('BPF_OBJ_GET', 'ENOENT'), /pin path/);
  assert.match(syscallHint('BPF_MAP_LOOKUP_ELEM', 'ENOENT'), /no such element/i);
  assert.match(syscallHint('BPF_PROG_LOAD', 'ENOSPC'), /log/);
  assert.match(syscallHint('BPF_PROG_LOAD', 'EACCES'), /verifier/);
  assert.match(syscallHint('BPF_OBJ_PIN', 'EACCES'), /bpffs|permission/);
  assert.match(syscallHint('BPF_MAP_UPDATE_ELEM', 'EBADF'), /file descriptor/);
  assert.match(syscallHint('BPF_PROG_LOAD', 'EINVAL'), /name/);
  assert.ok(syscallHint('BPF_MAP_CREATE', 'EWHATEVER').length > 0);
});

test('SyscallError carries command, errno, code and hint; survives TsbpfError.wrap', () => {
  const e = SyscallError.from('BPF_MAP_UPDATE_ELEM', 1);
  assert.instance(e, TsbpfError);
  assert.instance(e, SyscallError);
  assert.is(e.name, 'SyscallError');
  assert.is(e.command, 'BPF_MAP_UPDATE_ELEM');
  assert.is(e.errno, 1);
  assert.is(e.code, 'EPERM');
  assert.match(e.hint, /frozen/);
  assert.match(e.message, /BPF_MAP_UPDATE_ELEM failed: EPERM \(1, Operation not permitted\)/);
  const w = TsbpfError.wrap(e, { symbol: 'my_map' }) as SyscallError;
  assert.instance(w, SyscallError);
  assert.is(w.symbol, 'my_map');
  assert.is(w.command, 'BPF_MAP_UPDATE_ELEM');
  assert.is(w.code, 'EPERM');
  assert.is(w.errno, 1);
  assert.is(w.hint, e.hint);
  const n = SyscallError.from('BPF_PROG_LOAD', 524);
  assert.is(n.code, 'ENOTSUPP');
  assert.is(n.errno, 524);
});

test.run();
