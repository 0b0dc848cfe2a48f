// src/events/abi.ts against the uapi headers: a C probe compiled with gcc prints the ring
// buffer constants of <linux/bpf.h> and the perf buffer offsets of <linux/perf_event.h>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import * as abi from '../../src/events/abi.js';
import { haveGcc, runCProbe } from '../helpers/c-probe.js';

const HEADERS = ['/usr/include/linux/bpf.h', '/usr/include/linux/perf_event.h'];
const missing = HEADERS.filter((h) => !existsSync(h));
const canProbe = haveGcc && missing.length === 0;
if (!canProbe) console.log(`# events-abi: SKIPPING the header probe: ${!haveGcc ? 'gcc not found' : missing.join(', ') + ' missing (install linux-libc-dev)'}`);

/** name in abi.ts -> C expression giving it. */
const EXPRS: Record<string, string> = {
  BPF_RINGBUF_BUSY_BIT: 'BPF_RINGBUF_BUSY_BIT',
  BPF_RINGBUF_DISCARD_BIT: 'BPF_RINGBUF_DISCARD_BIT',
  BPF_RINGBUF_HDR_SZ: 'BPF_RINGBUF_HDR_SZ',
  PERF_MMAP_DATA_HEAD: 'offsetof(struct perf_event_mmap_page, data_head)',
  PERF_MMAP_DATA_TAIL: 'offsetof(struct perf_event_mmap_page, data_tail)',
  PERF_MMAP_DATA_OFFSET: 'offsetof(struct perf_event_mmap_page, data_offset)',
  PERF_MMAP_DATA_SIZE: 'offsetof(struct perf_event_mmap_page, data_size)',
  PERF_EVENT_HEADER_SIZE: 'sizeof(struct perf_event_header)',
  PERF_EVENT_HEADER_SIZE_OFFSET: 'offsetof(struct perf_event_header, size)',
  PERF_RECORD_LOST: 'PERF_RECORD_LOST',
  PERF_RECORD_SAMPLE: 'PERF_RECORD_SAMPLE',
  // PERF_RECORD_LOST is { header; u64 id; u64 lost; }, a raw sample { header; u32 size; data }
  PERF_LOST_COUNT_OFFSET: 'sizeof(struct perf_event_header) + sizeof(__u64)',
  PERF_SAMPLE_RAW_DATA_OFFSET: 'sizeof(struct perf_event_header) + sizeof(__u32)',
};

function probe(): Map<string, number> {
  const lines = Object.entries(EXPRS).map(([k, e]) => `  printf("%s %llu\\n", "${k}", (unsigned long long)(${e}));`);
  const out = runCProbe(`#include <stdio.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
int main(void) {
${lines.join('\n')}
  printf("sizeof_header_u64_aligned %d\\n", (int)(offsetof(struct perf_event_mmap_page, data_head) % 8 == 0));
  return 0;
}
`);
  return new Map(out.trim().split('\n').map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; }));
}

(canProbe ? test : test.skip)('ring buffer and perf buffer layouts match <linux/bpf.h> and <linux/perf_event.h>', () => {
  const got = probe();
  for (const k of Object.keys(EXPRS)) {
    assert.is((abi as Record<string, number>)[k], got.get(k), `${k}: abi.ts vs header`);
  }
  assert.is(got.get('sizeof_header_u64_aligned'), 1);
});

test('every number in abi.ts is checked by the probe', () => {
  const names = Object.keys(abi).filter((k) => typeof (abi as Record<string, unknown>)[k] === 'number');
  const unchecked = names.filter((k) => !(k in EXPRS) && k !== 'RINGBUF_RECORD_ALIGN');
  assert.equal(unchecked, [], 'constants without a header check');
});

test.run();
