// The release table (src/kernel/since.ts) against the running kernel, which is ground
// truth for its own release: every program, map, attach and link type and every helper
// the table says this release has is in the kernel's BTF enums, and none it says came
// later is. Run on the host and on every kernel of the VM matrix (5.10, 6.1, 6.12, sid's
// 7.x), this checks the table at each of those releases. Then the probes: what they find
// agrees with the table where no kernel config decides, and features() / --features.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_NAMES } from '../../src/asm/index.js';
import { ATTACH_TYPES, LINK_TYPES, MAP_TYPES, PROG_TYPES } from '../../src/kernel/enums.js';
import { NEWER_HELPER_NAMES } from '../../src/kernel/helper-since.js';
import { ATTACH_TYPE_SINCE, HELPER_SINCE, ISA_SINCE, LINK_TYPE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, releaseHas } from '../../src/kernel/since.js';
import { features } from '../../src/load/feature-table.js';
import { hasIsaFeature, hasMapType, hasProgType, helperSupport, kernelEnum } from '../../src/load/probes.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { test } = kernelSuite('features');
const release = os.release();

/** Names whose presence in `enumName` disagrees with the table for this release. */
function disagreements(enumName: Parameters<typeof kernelEnum>[0], table: Record<string, string>, ids: Record<string, number>): string[] {
  const known = kernelEnum(enumName);
  assert.ok(known, `the kernel's BTF has enum ${enumName}`);
  const out: string[] = [];
  for (const [name, since] of Object.entries(table)) {
    const id = ids[name];
    if (id === undefined) continue;
    const inKernel = known!.has(id);
    if (inKernel !== releaseHas(release, since)) out.push(`${name} (Linux ${since}): ${inKernel ? 'in' : 'not in'} the enum of ${release}`);
  }
  return out;
}

test(`the release table agrees with the BTF enums of ${release}: program, map, attach and link types`, () => {
  assert.equal(disagreements('bpf_prog_type', PROG_TYPE_SINCE, PROG_TYPES), []);
  assert.equal(disagreements('bpf_map_type', MAP_TYPE_SINCE, MAP_TYPES), []);
  assert.equal(disagreements('bpf_attach_type', ATTACH_TYPE_SINCE, ATTACH_TYPES), []);
  assert.equal(disagreements('bpf_link_type', LINK_TYPE_SINCE, LINK_TYPES), []);
});

test(`the release table agrees with the BTF enum bpf_func_id of ${release}: every helper`, () => {
  const ids: Record<string, number> = {};
  HELPER_NAMES.forEach((n, i) => { if (i > 0 && n) ids[n.replace(/^bpf_/, '')] = i; });
  for (const [id, n] of Object.entries(NEWER_HELPER_NAMES)) ids[n.replace(/^bpf_/, '')] = Number(id);
  assert.equal(disagreements('bpf_func_id', HELPER_SINCE, ids), []);
});

test('probes agree with the table where no kernel config decides', () => {
  for (const t of ['hash', 'array', 'prog_array', 'perf_event_array', 'ringbuf', 'bloom_filter', 'user_ringbuf', 'arena'] as const) {
    assert.is(hasMapType(t), releaseHas(release, MAP_TYPE_SINCE[t]), `map type ${t} (Linux ${MAP_TYPE_SINCE[t]})`);
  }
  for (const t of ['socket_filter', 'kprobe', 'sched_cls', 'xdp', 'raw_tracepoint', 'syscall', 'netfilter'] as const) {
    assert.is(hasProgType(t), releaseHas(release, PROG_TYPE_SINCE[t]), `program type ${t} (Linux ${PROG_TYPE_SINCE[t]})`);
  }
  const loop = HELPER_NAMES.indexOf('bpf_loop'), ringbuf = HELPER_NAMES.indexOf('bpf_ringbuf_output');
  assert.is(helperSupport('xdp', loop), releaseHas(release, HELPER_SINCE.loop!) ? 'yes' : 'no-helper', 'bpf_loop in xdp');
  assert.is(helperSupport('xdp', ringbuf), 'yes', 'bpf_ringbuf_output in xdp (5.8)');
  assert.is(helperSupport('socket_filter', HELPER_NAMES.indexOf('bpf_xdp_adjust_head')), 'not-for-type', 'an XDP helper in a socket filter');
  for (const f of ['jmp32', 'atomics', 'isa_v4'] as const) assert.is(hasIsaFeature(f), releaseHas(release, ISA_SINCE[f]), `instructions ${f} (Linux ${ISA_SINCE[f]})`);
});

test('features(): the whole table, once; --features prints it, --json as one document', () => {
  const t = features();
  assert.is(t.kernel, release);
  assert.is(features(), t, 'cached');
  assert.equal(t.programTypes.xdp, { available: true, since: '4.8' });
  assert.ok(t.helpers.xdp!.available.includes('bpf_map_lookup_elem') && t.helpers.xdp!.source === 'probed');
  assert.is(t.memcgAccounting.available, releaseHas(release, '5.11'));
  assert.is(t.btf.func.available, true);
  const text = spawnSync(process.execPath, ['bin/load.js', '--features'], { cwd: root, encoding: 'utf8' });
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^Kernel ${release.replace(/[.+]/g, '\\$&')}$`, 'm'));
  assert.match(text.stdout, /^eBPF program_type xdp is available \(Linux 4\.8\+\)$/m);
  assert.match(text.stdout, /^eBPF helpers supported for program type xdp:\n\t- bpf_map_lookup_elem$/m);
  const json = spawnSync(process.execPath, ['bin/load.js', '--features', '--json'], { cwd: root, encoding: 'utf8' });
  assert.is(json.status, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.mapTypes.ringbuf, { available: releaseHas(release, '5.8'), since: '5.8' });
  assert.equal(doc.helpers.xdp.available, t.helpers.xdp!.available);
});

uvu.run();
