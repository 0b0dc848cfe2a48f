import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as E from '../../src/kernel/enums.js';
// @ts-ignore -- plain .mjs script, no types
import { parseHeader, render, cConstants, DEFAULT_HEADER, OUTPUT } from '../../scripts/gen-enums.mjs';

const haveHeader = existsSync(DEFAULT_HEADER);
const haveGcc = spawnSync('gcc', ['--version']).status === 0;

test('well-known values', () => {
  assert.is(E.PROG_TYPES.socket_filter, 1);
  assert.is(E.PROG_TYPES.kprobe, 2);
  assert.is(E.PROG_TYPES.sched_cls, 3);
  assert.is(E.PROG_TYPES.xdp, 6);
  assert.is(E.PROG_TYPES.tracing, 26);
  assert.is(E.PROG_TYPES.syscall, 31);
  assert.is(E.PROG_TYPES.netfilter, 32);
  assert.is(E.PROG_TYPE_NAMES[26], 'tracing');
  assert.is(E.ATTACH_TYPES.cgroup_inet_ingress, 0);
  assert.is(E.ATTACH_TYPES.trace_fentry, 24);
  assert.is(E.ATTACH_TYPES.xdp, 37);
  assert.is(E.ATTACH_TYPES.trace_uprobe_multi, 48);
  assert.is(E.ATTACH_TYPE_NAMES[57], 'trace_uprobe_session');
  assert.is(E.LINK_TYPES.raw_tracepoint, 1);
  assert.is(E.LINK_TYPES.iter, 4);
  assert.is(E.LINK_TYPES.struct_ops, 9);
  assert.is(E.LINK_TYPES.sockmap, 14);
  assert.is(E.LINK_TYPE_NAMES[7], 'perf_event');
  assert.is(E.MAP_TYPES.hash, 1);
  assert.is(E.MAP_TYPES.prog_array, 3);
  assert.is(E.MAP_TYPES.array_of_maps, 12);
  assert.is(E.MAP_TYPES.ringbuf, 27);
  assert.is(E.MAP_TYPES.arena, 33);
  assert.is(E.MAP_TYPE_NAMES[13], 'hash_of_maps');
  assert.is(E.BPF_MAP_CREATE, 0);
  assert.is(E.BPF_PROG_LOAD, 5);
  assert.is(E.BPF_PROG_RUN, E.BPF_PROG_TEST_RUN);
  assert.is(E.BPF_CMD_NAMES[10], 'BPF_PROG_TEST_RUN');
  assert.is(E.BPF_F_NO_PREALLOC, 1);
  assert.is(E.BPF_F_RDONLY_PROG, 128);
  assert.is(E.BPF_F_MMAPABLE, 1024);
  assert.is(E.BPF_F_INNER_MAP, 4096);
  assert.is(E.BPF_F_SLEEPABLE, 16);
  assert.is(E.BPF_F_XDP_HAS_FRAGS, 32);
  assert.is(E.BPF_F_STRICT_ALIGNMENT, 1);
  assert.is(E.LIBBPF_PIN_NONE, 0);
  assert.is(E.LIBBPF_PIN_BY_NAME, 1);
  assert.is(E.progTypeNumber('lsm'), 29);
  assert.is(E.progTypeNumber('toString'), undefined);
  assert.is(E.attachTypeNumber('lsm_mac'), 27);
  assert.is(E.mapTypeNumber('lpm_trie'), 11);
});

test('reverse tables invert the forward ones', () => {
  for (const [fwd, rev] of [[E.PROG_TYPES, E.PROG_TYPE_NAMES], [E.ATTACH_TYPES, E.ATTACH_TYPE_NAMES], [E.MAP_TYPES, E.MAP_TYPE_NAMES], [E.LINK_TYPES, E.LINK_TYPE_NAMES], [E.BPF_CMD, E.BPF_CMD_NAMES]] as const) {
    for (const [num, name] of Object.entries(rev)) assert.is((fwd as Record<string, number>)[name as string], Number(num));
    const values = new Set(Object.values(fwd));
    assert.is(Object.keys(rev).length, values.size);
  }
});

(haveHeader ? test : test.skip)('committed src/kernel/enums.ts is what the generator makes from the header', () => {
  const text = render(parseHeader(DEFAULT_HEADER), DEFAULT_HEADER);
  assert.ok(readFileSync(OUTPUT, 'utf8') === text, 'src/kernel/enums.ts is stale: run node scripts/gen-enums.mjs');
});

(haveHeader && haveGcc ? test : test.skip)('every value taken from the header matches what gcc sees in <linux/bpf.h>', () => {
  const parsed = parseHeader(DEFAULT_HEADER);
  const consts = (cConstants(parsed) as { table: string; name: string; value: number; byHand: boolean }[]);
  const fromHeader = consts.filter((c) => !c.byHand);
  const lines = fromHeader.map((c) => `\tprintf("%s %lld\\n", "${c.name}", (long long)${c.name});`);
  const src = `#include <stdio.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nint main(void)\n{\n${lines.join('\n')}\n\tprintf("LIBBPF_PIN_NONE %d\\nLIBBPF_PIN_BY_NAME %d\\n", LIBBPF_PIN_NONE, LIBBPF_PIN_BY_NAME);\n\treturn 0;\n}\n`;
  const dir = mkdtempSync(path.join(tmpdir(), 'enums-'));
  try {
    writeFileSync(path.join(dir, 'p.c'), src);
    const cc = spawnSync('gcc', ['-o', path.join(dir, 'p'), path.join(dir, 'p.c')], { encoding: 'utf8' });
    if (cc.status !== 0 && /bpf_helpers\.h/.test(cc.stderr)) {
      // no libbpf-dev: check the uapi values only
      writeFileSync(path.join(dir, 'p.c'), src.replace('#include <bpf/bpf_helpers.h>\n', '').replace(/\tprintf\("LIBBPF_PIN[^\n]*\n/, ''));
      assert.is(spawnSync('gcc', ['-o', path.join(dir, 'p'), path.join(dir, 'p.c')]).status, 0);
    } else {
      assert.is(cc.status, 0, cc.stderr);
    }
    const out = spawnSync(path.join(dir, 'p'), { encoding: 'utf8' }).stdout;
    const seen = new Map(out.trim().split('\n').map((l) => { const [n, v] = l.split(' '); return [n!, Number(v)]; }));
    const all: Record<string, number> = {
      ...Object.fromEntries(Object.entries(E.PROG_TYPES).map(([k, v]) => [`BPF_PROG_TYPE_${k.toUpperCase()}`, v])),
      ...Object.fromEntries(Object.entries(E.ATTACH_TYPES).map(([k, v]) => [`BPF_${k.toUpperCase()}`, v])),
      ...Object.fromEntries(Object.entries(E.MAP_TYPES).map(([k, v]) => [`BPF_MAP_TYPE_${k.toUpperCase()}`, v])),
      ...Object.fromEntries(Object.entries(E.LINK_TYPES).map(([k, v]) => [`BPF_LINK_TYPE_${k.toUpperCase()}`, v])),
      ...E.BPF_CMD, ...E.MAP_FLAGS, ...E.PROG_LOAD_FLAGS,
      LIBBPF_PIN_NONE: E.LIBBPF_PIN_NONE, LIBBPF_PIN_BY_NAME: E.LIBBPF_PIN_BY_NAME,
    };
    let checked = 0;
    for (const [name, value] of seen) {
      assert.ok(name in all, `${name} is in the header but not in src/kernel/enums.ts`);
      assert.is(all[name], value, name);
      checked++;
    }
    assert.ok(checked > 150, `checked only ${checked}`);
    // whatever is not in this header must be in the hand-added block
    for (const name of Object.keys(all)) if (!seen.has(name)) assert.ok(name in E.ADDED_BY_HAND, `${name} neither in the header nor marked as added by hand`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hand-added values carry a kernel version', () => {
  for (const [name, v] of Object.entries(E.ADDED_BY_HAND)) assert.match(v, /^\d+\.\d+$/, name);
  if ('BPF_PROG_TYPE_NETFILTER' in E.ADDED_BY_HAND) assert.is(E.ADDED_BY_HAND.BPF_PROG_TYPE_NETFILTER, '6.4');
  assert.is(E.ADDED_BY_HAND.BPF_TRACE_UPROBE_SESSION, '6.13');
});

test.run();
