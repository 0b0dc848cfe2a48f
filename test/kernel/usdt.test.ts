// USDT (issue 13 item 4) in the kernel: test/data/usdt_target.c built with gcc (-no-pie:
// fixed addresses, so kernels without BPF cookies, which look sites up by address, need
// no pid either) and <sys/sdt.h> (systemtap-sdt-dev), its probe tsbpf:args attached with bpf-objs/usdt.bpf.o's
// BPF_USDT programs; the program reads the three arguments (a constant, a register, a
// stack slot) through __bpf_usdt_specs and the test checks their values, the semaphore
// the kernel sets while attached, the USDT cookie, and that close() undoes it all.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, UsdtError, usdtSites, type Link } from '../../src/index.js';
import { openExecutable as readExecutableFile } from '../../src/link/uprobe.js';
import { fdCount } from '../helpers/leaks.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { run, test } = kernelSuite('usdt');
const dir = mkdtempSync(path.join(tmpdir(), `tsbpf-usdt-${process.pid}-`));
const target = path.join(dir, 'usdt_target');

uvuTest.before(() => {
  if (!run) return;
  const sdt = ['/usr/include/sys/sdt.h', '/usr/include/x86_64-linux-gnu/sys/sdt.h'].some((p) => existsSync(p));
  assert.ok(sdt, '<sys/sdt.h> is missing: install systemtap-sdt-dev (.ci/run does)');
  const cc = spawnSync('gcc', ['-O0', '-no-pie', '-o', target, path.join(root, 'test/data/usdt_target.c')], { encoding: 'utf8' });
  assert.is(cc.status, 0, `gcc: ${cc.stderr}`);
});
uvuTest.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the target: its semaphore as it saw it. */
function fire(n: number, base: bigint): number {
  const r = spawnSync(target, [String(n), String(base)], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return Number(/^semaphore (\d+)/.exec(r.stdout)![1]);
}

interface Seen { args: bigint[]; argCnt: bigint; cookie: bigint; hits: bigint; autoHits: bigint }
function seen(c: Collection): Seen {
  const b = c.maps.get('seen')!.lookupBytes(0)!;
  return { args: [0, 8, 16].map((o) => b.readBigInt64LE(o)), argCnt: b.readBigInt64LE(24), cookie: b.readBigUInt64LE(32), hits: b.readBigUInt64LE(40), autoHits: b.readBigUInt64LE(48) };
}

test('BPF_USDT reads a constant, a register and a stack slot; the semaphore is set while attached; bpf_usdt_cookie and bpf_usdt_arg_cnt', () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/usdt.bpf.o'));
  let link: Link | undefined;
  try {
    assert.is(fire(1, 1000n), 0, 'no probe attached: semaphore 0, the probe does not fire');
    const links = c.attach({ programs: ['on_args'], targets: { on_args: { binary: target, provider: 'tsbpf', name: 'args', usdtCookie: 0xc0ffeen } } });
    link = links.get('on_args')!;
    assert.is(link.hook, 'usdt');
    assert.match(link.target, /usdt_target:tsbpf:args \(1 site\)/);
    assert.is(fire(5, -123456789n), 1, 'attached: the kernel counts the uprobe in the semaphore');
    const s = seen(c);
    assert.equal(s.args, [-42n, 24n, -370370367n], '-4@$-42, -4@%eax = (5 + 7) * 2, -8@-8(%rbp) = BASE * 3');
    assert.is(s.argCnt, 3n);
    assert.is(s.cookie, 0xc0ffeen);
    assert.is(s.hits, 1n);
    assert.is(fire(-10, 7n), 1);
    assert.equal(seen(c).args, [-42n, -6n, 21n], 'negative register value sign-extended from 4 bytes');
    link.close();
    assert.is(fire(1, 1n), 0, 'detached: semaphore back to 0');
    assert.is(seen(c).hits, 2n, 'no hit after close');
  } finally { link?.close(); c.close(); }
});

test('SEC("usdt/usdt_target:tsbpf:args") attaches from its section (binary found on PATH), as libbpf auto-attaches', () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/usdt.bpf.o'));
  const oldPath = process.env.PATH;
  process.env.PATH = `${dir}:${oldPath}`;
  try {
    const links = c.attach({ programs: ['on_auto'] });
    try {
      assert.match(links.get('on_auto')!.target, new RegExp(`${target}:tsbpf:args`));
      assert.is(fire(2, 2n), 1);
      assert.is(seen(c).autoHits, 1n);
    } finally { links.close(); }
  } finally { process.env.PATH = oldPath; c.close(); }
});

test('without cookies (attachMode perf: PERF_EVENT_IOC_SET_BPF) the site address goes into __bpf_usdt_ip_to_spec_id, and leaves it on close', () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/usdt.bpf.o'));
  try {
    const note = usdtSites(target, readExecutableFile(target), 'tsbpf', 'args');
    assert.is(note.length, 1);
    const ip = note[0]!.absIp; // -no-pie: the link-time address is the runtime one
    const links = c.attach({ programs: ['on_args'], targets: { on_args: { binary: target, provider: 'tsbpf', name: 'args', attachMode: 'perf' } } });
    const ipMap = c.maps.get('__bpf_usdt_ip_to_spec_id')!;
    try {
      const id = ipMap.lookupBytes(ip);
      assert.ok(id, `0x${ip.toString(16)} in the ip map`);
      const spec = c.maps.get('__bpf_usdt_specs')!.lookupBytes(id!.readUInt32LE(0))!;
      assert.is(spec.readInt16LE(200), 3, 'its spec: 3 arguments');
      assert.is(fire(1, 1n), 1, 'the semaphore is set this way too');
    } finally { links.close(); }
    assert.is(ipMap.lookupBytes(ip), undefined, 'removed on close');
  } finally { c.close(); }
});

test('a probe the binary does not have, or a USDT program attached without its maps: UsdtError, no fd left open', () => {
  const c = Collection.loadFile(path.join(root, 'bpf-objs/usdt.bpf.o'));
  try {
    const fds = fdCount();
    assert.throws(() => c.attach({ programs: ['on_args'], targets: { on_args: { binary: target, provider: 'tsbpf', name: 'nope' } } }),
      (e: unknown) => e instanceof UsdtError && e.reason === 'not-found' && /no USDT probe tsbpf:nope in .*usdt_target \(its probes: tsbpf:args\)/.test(e.message));
    assert.throws(() => c.programs.get('on_args')!.attach({ binary: target, provider: 'tsbpf', name: 'args' }),
      (e: unknown) => e instanceof UsdtError && e.reason === 'no-maps');
    assert.throws(() => c.attach({ programs: ['on_args'], targets: { on_args: { binary: '/bin/true', provider: 'tsbpf', name: 'args' } } }),
      (e: unknown) => e instanceof UsdtError && e.reason === 'not-found');
    // without cookies (5.10, or attachMode perf) a PIE binary needs a pid, but one without the probe says that first
    assert.throws(() => c.attach({ programs: ['on_args'], targets: { on_args: { binary: '/bin/true', provider: 'tsbpf', name: 'args', attachMode: 'perf' } } }),
      (e: unknown) => e instanceof UsdtError && e.reason === 'not-found');
    assert.is(fdCount(), fds, 'no fd left open');
  } finally { c.close(); }
});

uvuTest.run();
