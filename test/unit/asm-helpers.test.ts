import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { HELPER_NAMES, helperName } from '../../src/asm/index.js';

const HEADER = '/usr/include/linux/bpf.h';

test('helper table: well-known ids', () => {
  assert.is(HELPER_NAMES[0], 'bpf_unspec');
  assert.is(HELPER_NAMES[1], 'bpf_map_lookup_elem');
  assert.is(HELPER_NAMES[2], 'bpf_map_update_elem');
  assert.is(HELPER_NAMES[12], 'bpf_tail_call');
  assert.is(HELPER_NAMES[14], 'bpf_get_current_pid_tgid');
  assert.is(HELPER_NAMES[130], 'bpf_ringbuf_output');
  assert.ok(HELPER_NAMES.length > 200);
  assert.is(helperName(12), 'bpf_tail_call');
  assert.is(helperName(1_000_000), undefined);
  assert.is(helperName(12, { helperName: () => 'mine' }), 'mine');
  assert.is(helperName(12, { helperName: () => undefined }), 'bpf_tail_call');
});

const hasHeader = existsSync(HEADER);
if (!hasHeader) console.log(`SKIP: helper table vs ${HEADER} (header not installed; apt-get install linux-libc-dev)`);
(hasHeader ? test : test.skip)(`helper table matches ${HEADER} (scripts/gen-helpers.mjs --json)`, () => {
  const r = spawnSync(process.execPath, ['scripts/gen-helpers.mjs', '--json', HEADER], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<[number, string]>;
  assert.ok(list.length > 100);
  let checked = 0;
  for (const [id, name] of list) {
    if (id >= HELPER_NAMES.length) continue; // header newer than the committed table: regenerate to pick these up
    assert.is(HELPER_NAMES[id], name, `helper ${id}`);
    checked++;
  }
  assert.ok(checked > 100);
  // independent of the script: every `FN(name` of the mapper appears in the table
  const text = readFileSync(HEADER, 'utf8');
  const start = text.search(/#define\s+_{2,3}BPF_FUNC_MAPPER\s*\(/);
  const block = text.slice(start, text.indexOf('\n\n', start));
  const names = [...block.matchAll(/^\s*FN\(\s*(\w+)/gm)].map((m) => `bpf_${m[1]}`);
  assert.ok(names.includes('bpf_tail_call'));
  for (const n of names.slice(0, HELPER_NAMES.length)) assert.ok(HELPER_NAMES.includes(n), n);
});

test.run();
