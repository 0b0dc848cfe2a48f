// Networking hooks with real traffic: each test makes its own network namespaces and veth
// pair (names with this pid), sends UDP datagrams inside them only, counts what the
// programs of bpf-objs/attach_net.bpf.o saw (entry program and tail-called one), and
// removes everything, also on failure: no link, filter, qdisc, cgroup or fd left.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection, AttachError, BpfLink, TcFilterLink, type Link } from '../../src/index.js';
import { loadCollectionSpec, setVariable } from '../../src/spec/index.js';
import { tcxSupported } from '../../src/link/features.js';
import { progQuery, SyscallError, withNetns, ifNameToIndex } from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';
import { assertClean, fdSnapshot, newFds } from '../helpers/leaks.js';
import { sh, TestCgroup, TestNetns, VethPair } from '../helpers/net.js';

const { test } = kernelSuite('attach-net');
const OBJ = 'bpf-objs/attach_net.bpf.o';
const PORT = 40000 + (process.pid % 20000);
const N = 5;

function load(programs: string[]): Collection {
  const spec = loadCollectionSpec(OBJ);
  setVariable(spec, 'udp_port', PORT);
  return Collection.load(spec, { programs });
}

function counters(c: Collection): Record<string, bigint> {
  return c.maps.get('.bss')!.lookup(0) as Record<string, bigint>;
}

function zero(c: Collection): void {
  const bss = c.maps.get('.bss')!;
  bss.update(0, new Uint8Array(bss.valueSize));
}

/** A veth pair for the test's body, removed afterwards; fds and link ids checked. */
async function withVeth(body: (net: VethPair, ids: number[]) => Promise<void> | void, what: string): Promise<void> {
  const before = fdSnapshot();
  const ids: number[] = [];
  const net = new VethPair();
  try { await body(net, ids); } finally { net.close(); }
  await assertClean(before, ids, what);
}

function idOf(link: Link, ids: number[]): void {
  if (link instanceof BpfLink) ids.push(link.info().id);
}

test('XDP on one end of a veth pair: each datagram runs the entry program and the tail-called one; update() swaps the program', async () => {
  const c = load(['xdp_count', 'xdp_udp', 'xdp_count2']);
  try {
    await withVeth((net, ids) => {
      const link = c.programs.get('xdp_count')!.attach({ ifname: net.vethB, netns: net.path(net.nsB) });
      try {
        idOf(link, ids);
        assert.is(link.hook, 'xdp');
        assert.match(link.target, new RegExp(`^${net.vethB} \\(ifindex \\d+\\) netns ${net.path(net.nsB)}$`));
        const info = link.info();
        assert.is(info.typeName, 'xdp');
        assert.is(info.ifindex, withNetns(net.path(net.nsB), () => ifNameToIndex(net.vethB)));
        assert.is(info.progId, c.programs.get('xdp_count')!.info().id);
        net.sendUdp(net.nsA, net.ipB, PORT, N);
        let n = counters(c);
        assert.is(n.xdp_hits, BigInt(N), 'entry program');
        assert.is(n.xdp_tail_hits, BigInt(N), 'tail-called program');
        link.update(c.programs.get('xdp_count2')!);
        assert.is(link.info().progId, c.programs.get('xdp_count2')!.info().id);
        net.sendUdp(net.nsA, net.ipB, PORT, N);
        n = counters(c);
        assert.is(n.xdp_hits, BigInt(N), 'the old program no longer runs');
        assert.is(n.xdp2_hits, BigInt(N), 'the new one does');
      } finally { link.close(); }
      // detached: nothing counts any more
      zero(c);
      net.sendUdp(net.nsA, net.ipB, PORT, 2);
      assert.is(counters(c).xdp2_hits, 0n);
    }, 'xdp');
  } finally { c.close(); }
});

test('XDP in generic (skb) mode, by ifindex; a second XDP link on the interface is refused as busy', async () => {
  const c = load(['xdp_count', 'xdp_udp', 'xdp_count2']);
  try {
    await withVeth((net, ids) => {
      const ifindex = withNetns(net.path(net.nsB), () => ifNameToIndex(net.vethB));
      const link = c.programs.get('xdp_count')!.attach({ ifindex, mode: 'skb', netns: net.path(net.nsB) });
      try {
        idOf(link, ids);
        assert.match(link.target, /skb mode/);
        net.sendUdp(net.nsA, net.ipB, PORT, N);
        assert.is(counters(c).xdp_hits, BigInt(N));
        assert.throws(() => c.programs.get('xdp_count2')!.attach({ ifname: net.vethB, mode: 'skb', netns: net.path(net.nsB) }), (e: unknown) => e instanceof AttachError && e.reason === 'busy' && e.hook === 'xdp');
      } finally { link.close(); }
    }, 'xdp skb');
  } finally { c.close(); }
});

test('XDP errors: a missing interface, a missing namespace, a target of another hook; nothing left', async () => {
  const c = load(['xdp_count', 'xdp_udp', 'cg_egress']);
  try {
    await withVeth((net) => {
      const p = c.programs.get('xdp_count')!;
      assert.throws(() => p.attach({ ifname: 'tsbpf-none0', netns: net.path(net.nsB) }), (e: unknown) => e instanceof AttachError && e.reason === 'not-found' && /no network interface 'tsbpf-none0' in network namespace/.test(e.message));
      assert.throws(() => p.attach({ ifname: net.vethB }), (e: unknown) => e instanceof AttachError && e.reason === 'not-found', 'the veth is not in this namespace');
      assert.throws(() => p.attach({ ifname: 'lo', netns: '/run/netns/tsbpf-no-such-ns' }), (e: unknown) => e instanceof AttachError && e.reason === 'not-found' && /cannot open network namespace/.test(e.message));
      assert.throws(() => p.attach({ ifname: net.vethB, mode: 'fast' as never, netns: net.path(net.nsB) }), (e: unknown) => e instanceof AttachError && e.reason === 'bad-target');
      assert.throws(() => c.programs.get('cg_egress')!.attach({ ifname: net.vethB }), (e: unknown) => e instanceof AttachError && e.reason === 'bad-target' && /does not fit 'cg_egress' \(cgroup_skb/.test(e.message));
      assert.throws(() => p.attach({ cgroup: '/sys/fs/cgroup' }), (e: unknown) => e instanceof AttachError && e.reason === 'bad-target');
    }, 'xdp errors');
  } finally { c.close(); }
});

for (const via of ['tcx', 'netlink'] as const) {
  test(`TC ingress and egress through ${via}: entry and tail-called programs count the datagrams${via === 'netlink' ? '; filter and qdisc removed on close' : ''}`, async () => {
    const c = load(['tc_in', 'tc_out', 'tc_udp_in', 'tc_udp_out']);
    try {
      if (via === 'tcx' && !tcxSupported().ok) {
        assert.throws(() => c.programs.get('tc_in')!.attach({ ifname: 'lo', via: 'tcx' }), (e: unknown) => e instanceof AttachError && e.reason === 'unsupported' && e.since === '6.6');
        return;
      }
      await withVeth((net, ids) => {
        const links = [
          c.programs.get('tc_in')!.attach({ ifname: net.vethB, netns: net.path(net.nsB), via }),
          c.programs.get('tc_out')!.attach({ ifname: net.vethA, netns: net.path(net.nsA), via }),
        ];
        try {
          for (const l of links) idOf(l, ids);
          assert.equal(links.map((l) => l.hook), via === 'tcx' ? ['tcx', 'tcx'] : ['tc', 'tc']);
          if (via === 'netlink') {
            assert.instance(links[0], TcFilterLink);
            assert.match(net.tc(net.nsB, ['filter', 'show', 'dev', net.vethB, 'ingress']), /bpf .*tc_in.*direct-action/);
            assert.match(net.tc(net.nsA, ['filter', 'show', 'dev', net.vethA, 'egress']), /bpf .*tc_out.*direct-action/);
            assert.throws(() => links[0]!.pin('/sys/fs/bpf/x'), (e: unknown) => e instanceof AttachError && e.reason === 'not-supported-by-link');
          } else {
            const info = links[0]!.info();
            assert.is(info.typeName, 'tcx');
            assert.is(info.attachType, 'tcx_ingress');
          }
          net.sendUdp(net.nsA, net.ipB, PORT, N);
          const n = counters(c);
          assert.is(n.tc_out_hits, BigInt(N), 'egress entry');
          assert.is(n.tc_out_tail_hits, BigInt(N), 'egress tail call');
          assert.is(n.tc_in_hits, BigInt(N), 'ingress entry');
          assert.is(n.tc_in_tail_hits, BigInt(N), 'ingress tail call');
        } finally { for (const l of links) l.close(); }
        assert.is(net.tc(net.nsB, ['filter', 'show', 'dev', net.vethB, 'ingress']).trim(), '', 'no filter left');
        assert.not.match(net.tc(net.nsB, ['qdisc', 'show', 'dev', net.vethB]), /clsact/, 'the clsact qdisc made by the attach is gone');
      }, `tc ${via}`);
    } finally { c.close(); }
  });
}

test('TC over netlink on an interface that already has a clsact qdisc: the qdisc stays after close', async () => {
  const c = load(['tc_in', 'tc_udp_in']);
  try {
    await withVeth((net) => {
      net.tc(net.nsB, ['qdisc', 'add', 'dev', net.vethB, 'clsact']);
      const link = c.programs.get('tc_in')!.attach({ ifname: net.vethB, netns: net.path(net.nsB), via: 'netlink', direction: 'ingress', priority: 7 }) as TcFilterLink;
      try {
        assert.is(link.priority, 7);
        assert.not.ok(link.createdQdisc);
        net.sendUdp(net.nsA, net.ipB, PORT, N);
        assert.is(counters(c).tc_in_hits, BigInt(N));
      } finally { link.close(); }
      assert.is(net.tc(net.nsB, ['filter', 'show', 'dev', net.vethB, 'ingress']).trim(), '');
      assert.match(net.tc(net.nsB, ['qdisc', 'show', 'dev', net.vethB]), /clsact/);
    }, 'tc netlink existing qdisc');
  } finally { c.close(); }
});

test('cgroup_skb egress and ingress on a new cgroup v2: a process inside it sends to itself in its own namespace', async () => {
  const c = load(['cg_egress', 'cg_ingress']);
  const ns = new TestNetns();
  const cg = new TestCgroup();
  const before = fdSnapshot();
  const ids: number[] = [];
  try {
    const links = [c.programs.get('cg_egress')!.attach({ cgroup: cg.path }), c.programs.get('cg_ingress')!.attach({ cgroup: cg.path })];
    try {
      for (const l of links) idOf(l, ids);
      assert.is(links[0]!.hook, 'cgroup');
      const info = links[0]!.info();
      assert.is(info.typeName, 'cgroup');
      assert.is(info.attachType, 'cgroup_inet_egress');
      const js = `const s=require('dgram').createSocket('udp4');s.bind(${PORT},'127.0.0.1',()=>{let n=0;s.on('message',()=>{if(++n===${N})s.close();});for(let i=0;i<${N};i++)s.send('x',${PORT},'127.0.0.1');});`;
      cg.runIn(['ip', 'netns', 'exec', ns.name, process.execPath, '-e', js]);
      const n = counters(c);
      assert.is(n.cg_egress_hits, BigInt(N), 'egress');
      assert.is(n.cg_ingress_hits, BigInt(N), 'ingress');
      // a process outside the cgroup is not seen
      zero(c);
      sh('ip', ['netns', 'exec', ns.name, process.execPath, '-e', js]);
      assert.is(counters(c).cg_egress_hits, 0n);
    } finally { for (const l of links) l.close(); }
    await assertClean(before, ids, 'cgroup');
    assert.throws(() => c.programs.get('cg_egress')!.attach({ cgroup: `${cg.path}/nope` }), (e: unknown) => e instanceof AttachError && e.reason === 'not-found');
    assert.throws(() => c.programs.get('cg_egress')!.attach({ cgroup: '/proc' }), (e: unknown) => e instanceof AttachError && e.reason === 'bad-target' && /not a cgroup v2 directory/.test(e.message));
  } finally { cg.close(); ns.close(); c.close(); }
});

test('sk_lookup on a network namespace: runs for each datagram that arrives there', async () => {
  const c = load(['lookup']);
  try {
    await withVeth((net, ids) => {
      const link = c.programs.get('lookup')!.attach({ netns: net.path(net.nsB) });
      try {
        idOf(link, ids);
        assert.is(link.hook, 'netns');
        const info = link.info();
        assert.is(info.typeName, 'netns');
        assert.is(info.attachType, 'sk_lookup');
        net.sendUdp(net.nsA, net.ipB, PORT, N);
        assert.is(counters(c).lookup_hits, BigInt(N));
      } finally { link.close(); }
    }, 'sk_lookup');
  } finally { c.close(); }
});

test('sk_msg on a sockmap: BPF_PROG_ATTACH, seen by BPF_PROG_QUERY (Linux 5.19) until close', () => {
  const before = fdSnapshot();
  const c = load(['msg_verdict']);
  try {
    const map = c.maps.get('sock_map')!;
    const prog = c.programs.get('msg_verdict')!;
    const link = prog.attach({ map });
    let queried = true;
    try {
      assert.is(link.hook, 'sockmap');
      try { assert.equal(progQuery(map.fd, 'sk_msg_verdict'), [prog.info().id]); } catch (e) {
        if (!(e instanceof SyscallError && e.code === 'EINVAL')) throw e;
        queried = false; // no query of sockmaps before 5.19
      }
    } finally { link.close(); }
    if (queried) assert.equal(progQuery(map.fd, 'sk_msg_verdict'), []);
    assert.throws(() => prog.attach({ map: c.maps.get('.bss')! }), (e: unknown) => e instanceof AttachError && e.reason === 'bad-target' && /is a array map/.test(e.message));
  } finally { c.close(); }
  assert.equal(newFds(before), [], 'sk_msg: fds left open');
});

uvuTest.run();
