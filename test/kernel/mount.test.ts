// bpffs and tracefs are mounted where a fresh machine has none. Each case runs in a private
// mount namespace (unshare -m --propagation private) whose /sys/fs/bpf and
// /sys/kernel/tracing are unmounted first: the host's mounts are never touched.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('mount', 'root (unshare -m and mount need CAP_SYS_ADMIN)');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-mount-'));
const UNMOUNT_ALL = 'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug; do while umount $m 2>/dev/null; do :; done; done';

/** Runs `script` (sh) in a new private mount namespace with no bpffs, tracefs or debugfs. */
function bare(script: string) {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', `${UNMOUNT_ALL}\n${script}`], { cwd: root, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

/** A TypeScript file run with tsx in the namespace; `src` is this repository's src/. */
function tsScript(name: string, body: string): string {
  const f = path.join(tmp, `${name}.ts`);
  writeFileSync(f, body.replaceAll('$SRC', path.join(root, 'src')));
  return `${JSON.stringify(process.execPath)} --import tsx ${f}`;
}

test('the namespace really starts bare (what the other cases rely on)', () => {
  const r = bare('stat -f -c %t /sys/fs/bpf; stat -f -c %t /sys/kernel/tracing');
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['62656572', '62656572'], 'both are plain sysfs directories');
});

test('CLI --pin under an unmounted /sys/fs/bpf: mounts bpffs, says so in one line, pins, and --unpin removes them', () => {
  const dir = `/sys/fs/bpf/tsbpf-mount-${process.pid}`;
  const node = JSON.stringify(process.execPath);
  const r = bare(`${node} bin/load.js --pin ${dir} bpf-objs/nobtf.bpf.o
stat -f -c 'fs %t' ${dir}
ls ${dir}
${node} bin/load.js --unpin ${dir}`);
  assert.is(r.status, 0, r.stderr + r.stdout);
  const notes = r.stderr.trim().split('\n');
  assert.equal(notes, ['load: mounted bpffs at /sys/fs/bpf (it was not mounted; pins need it)'], 'one line, once');
  assert.match(r.stdout, /^fs cafe4a11$/m);
  assert.match(r.stdout, /^sock_nobtf$/m);
  assert.match(r.stdout, /^xdp_nobtf$/m);
});

test('library: a map pinned by name under the default pin root mounts bpffs; tracefs is found or mounted once', () => {
  const f = tsScript('lib', `
import { Collection, ensureTracefs, loadCollectionSpec } from '$SRC/index.js';
import { withoutMissingMaps } from '$SRC/../test/helpers/requirements.js';
const lines: string[] = [];
// without the bloom filter where the kernel has none (5.16; that refusal is load.test's)
const c = Collection.load(withoutMissingMaps(loadCollectionSpec('bpf-objs/map_types.bpf.o'), 'map_types.bpf.o'), { pinRoot: '/sys/fs/bpf' });
console.log('pinned', c.maps.get('tsbpf_pinned')!.pinnedAt);
c.unpin(true);
c.close();
console.log('tracefs', ensureTracefs({ notice: (l) => lines.push(l) }));
console.log('again', ensureTracefs({ notice: (l) => lines.push(l) }));
console.log('notices', JSON.stringify(lines));
`);
  const r = bare(`${f}\nstat -f -c 'fs %t' /sys/kernel/tracing\ntest -e /sys/kernel/tracing/events && echo events`);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr.trim().split('\n'), ['tsbpf: mounted bpffs at /sys/fs/bpf (it was not mounted; pins need it)']);
  assert.match(r.stdout, /^pinned \/sys\/fs\/bpf\/tsbpf_pinned$/m);
  assert.match(r.stdout, /^tracefs \/sys\/kernel\/tracing$/m);
  assert.match(r.stdout, /^again \/sys\/kernel\/tracing$/m);
  assert.match(r.stdout, /^notices \["mounted tracefs at \/sys\/kernel\/tracing \(it was not mounted; tracing needs it\)"\]$/m);
  assert.match(r.stdout, /^fs 74726163$/m);
  assert.match(r.stdout, /^events$/m);
});

test('four processes that find /sys/fs/bpf bare at once mount it once', () => {
  const f = tsScript('race', `
import { ensureBpffs } from '$SRC/sys/index.js';
const at = Number(process.env.START); // start together: loading the modules takes a varying time
while (Date.now() < at) { /* spin */ }
console.log(ensureBpffs('/sys/fs/bpf/x', { notice: () => {} }) ?? 'none');
`);
  const r = bare(`export START=${Date.now() + 4000}; for i in 1 2 3 4; do ${f} & done; wait\ngrep -c ' /sys/fs/bpf ' /proc/self/mountinfo`);
  assert.is(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout.trim().split('\n');
  assert.is(out.pop(), '1', 'one bpffs mount at /sys/fs/bpf');
  assert.equal(out.sort(), ['/sys/fs/bpf', 'none', 'none', 'none']);
});

uvuTest.run();
