// `node bin/load.js --attach`: programs really attached by the CLI (counted through the
// pinned .bss map with --pin), staying attached until SIGINT, detached and unloaded after;
// explicit targets (IFNAME@NETNS for XDP); --unpin removes the pinned links.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINK_TYPE_SINCE, releaseHas } from '../../src/kernel/since.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { closeFd, linkInfo, mapLookup, objGet, progGetFdById, SyscallError } from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { VethPair, uniqueName } from '../helpers/net.js';
import { startTarget } from '../helpers/target.js';
import { perfLinkSupported } from '../../src/link/features.js';

const { test } = kernelSuite('cli-attach');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8' });

/** A u64 variable of a pinned .bss map. */
function pinnedCounter(mapPin: string, obj: string, name: string): bigint {
  const spec = loadCollectionSpec(path.join(root, obj));
  const bss = spec.maps.get('.bss')!;
  const fd = objGet(mapPin);
  try {
    const v = Buffer.alloc(bss.valueSize);
    assert.ok(mapLookup(fd, new Uint32Array([0]), v));
    return v.readBigUInt64LE(bss.variables!.get(name)!.offset);
  } finally { closeFd(fd); }
}

function gone(progId: number): boolean {
  try { closeFd(progGetFdById(progId)); return false; } catch (e) { return e instanceof SyscallError && e.code === 'ENOENT'; }
}

// Before Linux 5.15 a tracepoint is attached through a perf event's ioctl, not a BPF link:
// nothing to pin, and the program is detached when the CLI exits (Debian 11's 5.10 in the VM matrix).
const perfLinks = releaseHas(os.release(), LINK_TYPE_SINCE.perf_event);

test(perfLinks
  ? '--attach --pin: a tracepoint stays attached after the CLI exits (link pinned), counts, and --unpin detaches it'
  : `--attach --pin on ${os.release()} (no perf event links before ${LINK_TYPE_SINCE.perf_event}): the tracepoint cannot be pinned, the report says so, and it is detached at exit`, async () => {
  const dir = `/sys/fs/bpf/${uniqueName('cli')}`;
  const obj = 'bpf-objs/attach_trace.bpf.o';
  const r = cli('--pin', dir, '--attach', '--only', 'tp_enter_getppid', obj);
  if (!perfLinks) {
    try {
      assert.is(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /tp_enter_getppid: attached with PERF_EVENT_IOC_SET_BPF \(no BPF link for perf events before Linux 5\.15\): it cannot be pinned and is detached at exit/);
      assert.not.match(r.stdout, /links pinned under/);
      assert.not.ok(existsSync(`${dir}/links/tp_enter_getppid`));
      const bssPin = `${dir}/maps/attach_t_bss`;
      const before = pinnedCounter(bssPin, obj, 'tp_getppid');
      const t = startTarget(5);
      await t.go();
      assert.is(pinnedCounter(bssPin, obj, 'tp_getppid'), before, 'nothing counts the getppid calls once the CLI has exited');
    } finally {
      const u = cli('--unpin', dir);
      assert.is(u.status, 0, u.stderr);
    }
    assert.not.ok(existsSync(dir));
    return;
  }
  try {
    assert.is(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /tp_enter_getppid .* tracepoint syscalls\/sys_enter_getppid/);
    if (!perfLinkSupported().ok) { // before 5.15: no BPF link for perf events, nothing to pin
      assert.match(r.stdout, /tp_enter_getppid: attached with PERF_EVENT_IOC_SET_BPF \(no BPF link for perf events before Linux 5\.15\): it cannot be pinned and is detached at exit/);
      assert.not.ok(existsSync(`${dir}/links/tp_enter_getppid`));
      return;
    }
    assert.match(r.stdout, /links pinned under .*\/links: the programs stay attached after exit/);
    const link = objGet(`${dir}/links/tp_enter_getppid`);
    try { assert.is(linkInfo(link).typeName, 'perf_event'); } finally { closeFd(link); }
    const bssPin = `${dir}/maps/attach_t_bss`;
    const before = pinnedCounter(bssPin, obj, 'tp_getppid');
    const t = startTarget(5);
    await t.go();
    assert.ok(pinnedCounter(bssPin, obj, 'tp_getppid') - before >= 5n, 'the getppid calls of the target were counted after the CLI exited');
  } finally {
    const u = cli('--unpin', dir);
    assert.is(u.status, 0, u.stderr);
  }
  assert.not.ok(existsSync(dir));
});

test('--attach without --pin: attached until SIGINT, then detached and unloaded (exit 0)', async () => {
  const p = spawn(process.execPath, ['bin/load.js', '--attach', '--only', 'tp_enter_getppid', 'bpf-objs/attach_trace.bpf.o'], { cwd: root });
  let out = '', err = '';
  p.stdout.on('data', (d) => { out += d; });
  const attached = new Promise<void>((resolve) => p.stderr.on('data', (d) => { err += d; if (/link\(s\) attached/.test(err)) resolve(); }));
  const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
  await Promise.race([attached, exited]);
  const id = Number(/tp_enter_getppid .* id (\d+)/.exec(out)?.[1]);
  assert.ok(id > 0, out + err);
  assert.not.ok(gone(id), 'loaded while attached');
  p.kill('SIGINT');
  assert.is(await exited, 0, err);
  assert.match(err, /SIGINT: detaching and unloading/);
  for (let i = 0; i < 100 && !gone(id); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gone(id), 'the program is unloaded after exit');
});

test('--attach xdp_count=IFNAME@NETNS --pin: real datagrams counted, then --unpin', async () => {
  const net = new VethPair();
  const dir = `/sys/fs/bpf/${uniqueName('cli')}`;
  const obj = 'bpf-objs/attach_net.bpf.o';
  const port = 40000 + (process.pid % 20000);
  try {
    const r = cli('--pin', dir, '--set', `udp_port=${port}`, '--only', 'xdp_count', '--only', 'xdp_udp', '--attach', `xdp_count=${net.vethB}:skb@${net.nsB}`, obj);
    assert.is(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`xdp_count .* xdp ${net.vethB} \\(ifindex \\d+, skb mode\\) netns ${net.nsB}`));
    assert.match(r.stdout, /xdp_udp: tail-call target \(xdp_table\[0\]\)/);
    net.sendUdp(net.nsA, net.ipB, port, 4);
    assert.is(pinnedCounter(`${dir}/maps/attach_n_bss`, obj, 'xdp_hits'), 4n);
    assert.is(pinnedCounter(`${dir}/maps/attach_n_bss`, obj, 'xdp_tail_hits'), 4n, 'the pinned prog array keeps the tail call working');
  } finally {
    if (existsSync(dir)) cli('--unpin', dir);
    net.close();
  }
});

test('--attach with a target that does not exist: exit 1, the program row says why, nothing stays attached', () => {
  const r = cli('--attach', 'up_add=/bin/bash:no_such_function', '--only', 'up_add', '--duration', '1', 'bpf-objs/attach_trace.bpf.o');
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, /up_add .* FAILED/);
  assert.match(r.stdout, /up_add: cannot probe \/bin\/bash:no_such_function: no function 'no_such_function' in its \.dynsym/);
  assert.not.match(r.stderr, /attached;/, 'no wait: nothing is attached');
});

uvuTest.run();
