// struct_ops maps in the running kernel: bpf-objs/struct_ops.bpf.o registers the TCP
// congestion control "tsbpf_cc" while the collection is open, and only then. Checked
// through /proc/sys/net/ipv4 and, where bpftool is installed, `bpftool struct_ops`
// (its dump decodes the kernel's value: state, program ids per member, name, flags).
// Congestion control names are kernel-global and other test processes load the same
// fixtures at the same time: every load here gives the struct_ops values this run's names
// ('tsbpf_cc' -> 't<pid>_cc', helpers/struct-ops-names.ts), and bpftool is asked about our
// maps by id, never by their (shared) map names.
// Needs root; skipped otherwise, except under CI=true.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf, Collection, forceMissingBtfFeatures, hasBtfFeature, STRUCT_OPS_LINK_NOTE, TsbpfError, type LoadOptions } from '../../src/index.js';
import { btfRaw } from '../../src/sys/index.js';
import { kernelSuite, ownIds } from '../helpers/kernel-suite.js';
import { kernelHasStruct, kernelStructHasMember } from '../helpers/kernel-probes.js';
import { runName, specWithRunNames } from '../helpers/struct-ops-names.js';

/** bpf_prog_info has attach_btf_id since Linux 6.0 (Debian 11's 5.10 reports no such field: 0). */
const infoHasAttachBtfId = kernelStructHasMember('bpf_prog_info', 'attach_btf_id');

const { run, test } = kernelSuite('struct_ops', 'root (bpf(2) needs root or CAP_BPF + CAP_NET_ADMIN)');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/struct_ops.bpf.o');
const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const ALLOWED = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
const words = (f: string) => readFileSync(f, 'utf8').trim().split(/\s+/);

const hasBpftool = spawnSync('bpftool', ['version'], { encoding: 'utf8' }).status === 0;
function bpftool(...args: string[]): unknown {
  const r = spawnSync('bpftool', ['-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout);
}
type Dump = Array<Record<string, any>>;
/** The kernel's value of our map `id` as bpftool decodes it; `state` sits in `common` since Linux 6.9, directly in the value before. */
function dump(id: number): { state: string; data: Record<string, unknown> } {
  const r = spawnSync('bpftool', ['-j', 'struct_ops', 'dump', 'id', String(id)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool struct_ops dump id ${id}: ${r.stderr || r.stdout}`);
  // bpftool 7.1 prints the two objects of `dump id` without the enclosing [ ] (`dump name` has them)
  const out = r.stdout.trim();
  const d = JSON.parse(out.startsWith('[') ? out : `[${out}]`) as Dump;
  const v = d[1]!['bpf_struct_ops_tcp_congestion_ops'];
  return { state: v.common?.state ?? v.state, data: v.data };
}
/** Feature probe, not a version check: struct_ops links came with struct bpf_struct_ops_link (6.4). */
const hasLinks = run && kernelHasStruct('bpf_struct_ops_link');
if (run && !hasLinks) console.log('  (this kernel has no struct_ops links: the .struct_ops.link map is left out of the loads below, and the whole object must be refused naming BPF_F_LINK)');
/** This run's congestion control names (what tcp_available_congestion_control lists). */
const CC = runName('tsbpf_cc'), CC_LINK = runName('tsbpf_cc_link'), OPT = runName('tsbpf_opt'), OPT_LINK = runName('tsbpf_opt_link');

/** The fixture with this run's names, without its .struct_ops.link map where the kernel cannot create it. */
function load(): Collection {
  const spec = specWithRunNames(file);
  if (!hasLinks) spec.maps.delete('tsbpf_cc_link');
  return Collection.load(spec);
}

const listed = () => (bpftool('struct_ops', 'list') as Array<{ id: number; name: string }>);
/** The struct_ops maps this process holds (by the ids of its fds), as bpftool lists them. */
const ownListed = () => { const own = ownIds('map'); return listed().filter((x) => own.includes(x.id)); };

test('tsbpf_cc is registered while the collection is open, with our programs in its members, and gone after close()', () => {
  assert.not.ok(words(AVAILABLE).includes(CC), 'not registered before the test');
  const c = load();
  let ids: number[] = [];
  try {
    assert.ok(words(AVAILABLE).includes(CC), `tcp_available_congestion_control lists ${CC}`);
    assert.ok(words(ALLOWED).includes(CC), '.flags = TCP_CONG_NON_RESTRICTED was copied: tcp_allowed_congestion_control lists it');
    assert.not.ok(words(AVAILABLE).includes(CC_LINK), 'the .struct_ops.link map is not registered (no link)');

    const cc = c.maps.get('tsbpf_cc')!, link = c.maps.get('tsbpf_cc_link');
    ids = [cc.info().id, ...(link ? [link.info().id] : [])];
    for (const m of link ? [cc, link] : [cc]) {
      const info = m.info();
      assert.is(info.typeName, 'struct_ops');
      assert.ok(info.btfVmlinuxValueTypeId > 0, `${m.name}: created with btf_vmlinux_value_type_id`);
      assert.is(info.valueSize, m.valueSize, `${m.name}: value size is the kernel's struct bpf_struct_ops_tcp_congestion_ops`);
      assert.is(info.btfKeyTypeId, 0);
      assert.is(info.btfValueTypeId, 0);
    }
    assert.is(cc.info().flags, 0);
    assert.is(cc.structOps!.registered, true);
    if (link) {
      assert.is(link.info().flags, 0x2000, 'BPF_F_LINK');
      assert.is(link.structOps!.registered, false);
      assert.is(link.structOps!.note, STRUCT_OPS_LINK_NOTE);
      assert.match(link.structOps!.note, /link/);
    }

    // every program is attached to the kernel's struct tcp_congestion_ops
    const kid = cc.structOps!.kernelTypeId;
    assert.ok(kid > 0);
    for (const p of c.programs.values()) {
      const info = p.info();
      assert.is(info.typeName, 'struct_ops', `${p.name}: type`);
      assert.is(info.attachBtfId, infoHasAttachBtfId ? kid : 0, `${p.name}: attach_btf_id = struct tcp_congestion_ops (0 where bpf_prog_info has no such field)`);
    }
    if (!infoHasAttachBtfId) console.log('  (struct_ops: this kernel\'s bpf_prog_info has no attach_btf_id; the members bpftool lists and the registration are the check)');

    if (hasBpftool) {
      const names = listed().filter((x) => ids.includes(x.id)).map((x) => x.name).sort();
      assert.equal(names, hasLinks ? ['tsbpf_cc', 'tsbpf_cc_link'] : ['tsbpf_cc'], 'bpftool struct_ops list');
      const prog = (n: string) => `/prog_id:${c.programs.get(n)!.info().id}`;
      const states = [['tsbpf_cc', 'BPF_STRUCT_OPS_STATE_INUSE', CC], ['tsbpf_cc_link', 'BPF_STRUCT_OPS_STATE_READY', CC_LINK]] as const;
      for (const [name, state, ccName] of hasLinks ? states : states.slice(0, 1)) {
        const v = dump(c.maps.get(name)!.info().id);
        assert.is(v.state, state, `${name}: state`);
        assert.ok(String(v.data['ssthresh']).endsWith(prog('tsbpf_ssthresh')), `${name}: ssthresh -> ${v.data['ssthresh']}`);
        assert.ok(String(v.data['cong_avoid']).endsWith(prog('tsbpf_cong_avoid')), `${name}: cong_avoid -> ${v.data['cong_avoid']}`);
        assert.ok(String(v.data['undo_cwnd']).endsWith(prog('tsbpf_undo_cwnd')), `${name}: undo_cwnd -> ${v.data['undo_cwnd']}`);
        assert.is(String(v.data['set_state']).endsWith(' 0'), true, `${name}: members the object leaves NULL stay 0`);
        assert.is(v.data['name'], ccName, `${name}: .name copied`);
      }
      assert.is(dump(cc.info().id).data['flags'], 1, '.flags copied');
      if (link) assert.is(dump(link.info().id).data['flags'], 0);
    } else {
      console.log('  (bpftool not installed: the kernel value is checked through /proc only)');
    }
  } finally {
    c.close();
  }
  assert.not.ok(words(AVAILABLE).includes(CC), 'unregistered by close()');
  assert.is(c.maps.get('tsbpf_cc')!.structOps!.registered, false);
  if (hasBpftool) assert.equal(listed().filter((x) => ids.includes(x.id)), [], 'both maps are gone');
});

test('attachStructOps() registers the .struct_ops.link map through a BPF link; closing the link unregisters it, the map stays', () => {
  if (!hasLinks) { console.log('  (this kernel has no struct_ops links: covered by the refusal test below)'); return; }
  const c = load();
  try {
    const m = c.maps.get('tsbpf_cc_link')!;
    assert.not.ok(words(AVAILABLE).includes(CC_LINK), 'not registered before the link');
    assert.throws(() => c.maps.get('tsbpf_cc')!.attachStructOps(), /registered by the load; only SEC\("\.struct_ops\.link"\) maps/);
    const link = m.attachStructOps();
    try {
      assert.ok(words(AVAILABLE).includes(CC_LINK), `tcp_available_congestion_control lists ${CC_LINK} while the link is open`);
      const info = link.info();
      assert.ok(info.id > 0, 'the kernel gave the link an id');
      assert.is(info.typeName, 'struct_ops', 'BPF_LINK_TYPE_STRUCT_OPS');
      assert.is(info.type, 9);
      // kernel fact: a link-registered map keeps state READY (INUSE is for maps registered by the update)
      if (hasBpftool) assert.is(dump(m.info().id).state, 'BPF_STRUCT_OPS_STATE_READY');
    } finally {
      link.close();
    }
    assert.not.ok(words(AVAILABLE).includes(CC_LINK), 'closing the link unregistered it');
    // the map is still there: a second link registers it again
    const again = m.attachStructOps();
    assert.ok(words(AVAILABLE).includes(CC_LINK), 'a second link registers it again');
    again.close();
  } finally {
    c.close();
  }
  assert.not.ok(words(AVAILABLE).includes(CC_LINK));
});

test('a second load of the same congestion control name is refused (EEXIST), leaves nothing behind, and the first stays registered', () => {
  const first = load();
  try {
    const before = ownIds('map');
    // the message names the map and the name the kernel says is taken: the value's `name` (this run's CC), not the map's
    assert.throws(() => load(), (e: Error) => e instanceof TsbpfError && e.reason === 'struct-ops-name-taken' &&
      e.message.includes(`map 'tsbpf_cc'`) && e.message.includes(`tcp_congestion_ops '${CC}'`) && /EEXIST.*registered already/.test(e.message));
    assert.equal(ownIds('map'), before, 'the failed load closed its struct_ops maps');
    assert.ok(words(AVAILABLE).includes(CC), 'the first one is still registered');
  } finally {
    first.close();
  }
  assert.not.ok(words(AVAILABLE).includes(CC));
});

test('struct_ops maps need the object\'s BTF in the kernel', () => {
  assert.throws(() => Collection.load(specWithRunNames(file), { noBtf: true }), (e: Error) => e instanceof TsbpfError && /struct_ops map 'tsbpf_cc' needs the object's BTF.*noBtf/.test(e.message));
  assert.not.ok(words(AVAILABLE).includes(CC));
});

test('where the kernel has no struct_ops links, the .struct_ops.link map is refused with the reason', () => {
  if (hasLinks) { console.log('  (this kernel has struct_ops links: nothing to refuse)'); return; }
  assert.throws(() => Collection.load(specWithRunNames(file)), (e: Error) => e instanceof TsbpfError && /tsbpf_cc_link.*needs struct_ops links \(BPF_F_LINK\)/.test(e.message));
  assert.not.ok(words(AVAILABLE).includes(CC), 'nothing registered by the failed load');
});

// ---- SEC("?.struct_ops") / SEC("?.struct_ops.link"): bpf-objs/struct_ops_optional.bpf.o
// tsbpf_opt (?.struct_ops): ssthresh = opt_ssthresh, cong_avoid = opt_cong_avoid, undo_cwnd = opt_cwnd
// tsbpf_opt_link (?.struct_ops.link, struct tcp_congestion_ops___v2): ssthresh = opt_cwnd,
//   cong_avoid = opt_cong_avoid, undo_cwnd = opt_link_undo_cwnd (SEC("?struct_ops/..."))
const optFile = path.join(root, 'bpf-objs/struct_ops_optional.bpf.o');
const OPT_NAMES = [OPT, OPT_LINK];
/** The optional fixture with this run's names. */
const loadOpt = (opts: LoadOptions = {}) => Collection.load(specWithRunNames(optFile), opts);
/** Map names of the struct_ops maps this process holds. */
const optListed = () => (hasBpftool ? ownListed().map((x) => x.name) : []);
/** member -> program id as bpftool decodes the kernel's value ("... /prog_id:N"), for the members set. */
function members(id: number, which: string[]): Record<string, number> {
  const d = dump(id).data;
  return Object.fromEntries(which.map((m) => [m, Number(/prog_id:(\d+)/.exec(String(d[m]))?.[1] ?? 0)]));
}

test('optional struct_ops maps are not created by default, and the programs only they use are not loaded', () => {
  const c = loadOpt();
  try {
    assert.equal([...c.maps.keys()], [], 'no map: both are SEC("?.struct_ops*")');
    assert.equal([...c.programs.keys()], [], 'no program: every struct_ops program here is used only by those maps');
    assert.equal(words(AVAILABLE).filter((n) => OPT_NAMES.includes(n)), []);
    assert.equal(optListed(), []);
    assert.is(c.spec.maps.get('tsbpf_opt')!.autocreate, false, 'the spec says why');
  } finally {
    c.close();
  }
});

test('tsbpf_opt turned on in the spec: created and registered; its three programs load, opt_link_undo_cwnd does not', () => {
  const spec = specWithRunNames(optFile);
  spec.maps.get('tsbpf_opt')!.autocreate = true;
  const c = Collection.load(spec);
  try {
    assert.equal([...c.maps.keys()], ['tsbpf_opt']);
    assert.equal([...c.programs.keys()].sort(), ['opt_cong_avoid', 'opt_cwnd', 'opt_ssthresh']);
    assert.ok(words(AVAILABLE).includes(OPT), `tcp_available_congestion_control lists ${OPT}`);
    assert.ok(words(ALLOWED).includes(OPT), '.flags = TCP_CONG_NON_RESTRICTED copied');
    assert.not.ok(words(AVAILABLE).includes(OPT_LINK));
    const m = c.maps.get('tsbpf_opt')!;
    assert.is(m.structOps!.registered, true);
    assert.is(m.info().flags, 0);
    for (const p of c.programs.values()) assert.is(p.info().attachBtfId, infoHasAttachBtfId ? m.structOps!.kernelTypeId : 0, `${p.name}: attach_btf_id (0 where bpf_prog_info has no such field)`);
    if (hasBpftool) {
      const id = (n: string) => c.programs.get(n)!.info().id;
      assert.equal(members(m.info().id, ['ssthresh', 'cong_avoid', 'undo_cwnd']), { ssthresh: id('opt_ssthresh'), cong_avoid: id('opt_cong_avoid'), undo_cwnd: id('opt_cwnd') });
      assert.equal(optListed(), ['tsbpf_opt']);
    }
  } finally {
    c.close();
  }
  assert.not.ok(words(AVAILABLE).includes(OPT), 'unregistered by close()');
});

test('tsbpf_opt_link turned on by LoadOptions.autocreate: BPF_F_LINK, registered by attachStructOps(); the ?struct_ops program it uses is loaded', () => {
  if (!hasLinks) {
    assert.throws(() => loadOpt({ autocreate: { tsbpf_opt_link: true } }), /tsbpf_opt_link.*needs struct_ops links \(BPF_F_LINK\)/);
    return;
  }
  const c = loadOpt({ autocreate: { tsbpf_opt_link: true } });
  try {
    assert.equal([...c.maps.keys()], ['tsbpf_opt_link']);
    assert.equal([...c.programs.keys()].sort(), ['opt_cong_avoid', 'opt_cwnd', 'opt_link_undo_cwnd'], 'opt_link_undo_cwnd despite its SEC("?..."); not opt_ssthresh');
    const m = c.maps.get('tsbpf_opt_link')!;
    assert.is(m.info().flags, 0x2000, 'BPF_F_LINK');
    assert.is(m.structOps!.registered, false);
    assert.not.ok(words(AVAILABLE).includes(OPT_LINK), 'not registered before the link');
    if (hasBpftool) {
      // the local struct tcp_congestion_ops___v2 has its own layout: members land by name
      const id = (n: string) => c.programs.get(n)!.info().id;
      assert.equal(members(m.info().id, ['ssthresh', 'cong_avoid', 'undo_cwnd']), { ssthresh: id('opt_cwnd'), cong_avoid: id('opt_cong_avoid'), undo_cwnd: id('opt_link_undo_cwnd') });
      assert.is(dump(m.info().id).data['name'], OPT_LINK);
    }
    const link = m.attachStructOps();
    try {
      assert.ok(words(AVAILABLE).includes(OPT_LINK), 'the link registered it');
    } finally {
      link.close();
    }
    assert.not.ok(words(AVAILABLE).includes(OPT_LINK), 'closing the link unregistered it');
  } finally {
    c.close();
  }
});

test('both optional maps on: refused before anything is created (opt_cwnd would be undo_cwnd in one and ssthresh in the other)', () => {
  const maps = ownIds('map'), progs = ownIds('prog');
  assert.throws(() => loadOpt({ autocreate: { tsbpf_opt: true, tsbpf_opt_link: true } }),
    (e: Error) => e instanceof TsbpfError && /program 'opt_cwnd' is tcp_congestion_ops\.undo_cwnd .* in map 'tsbpf_opt' and cannot also be tcp_congestion_ops\.ssthresh/.test(e.message));
  assert.equal(words(AVAILABLE).filter((n) => OPT_NAMES.includes(n)), []);
  assert.equal(optListed(), []);
  assert.equal(ownIds('map'), maps, 'no map left behind');
  assert.equal(ownIds('prog'), progs, 'no program left behind');
  // asking for a program whose only maps are off says so
  assert.throws(() => loadOpt({ programs: ['opt_ssthresh'] }),
    (e: Error) => e instanceof TsbpfError && /'opt_ssthresh' is used only by struct_ops maps that are not created \(tsbpf_opt: autocreate off\)/.test(e.message));
  assert.throws(() => loadOpt({ autocreate: { tsbpf_nope: true } }), /autocreate: no map 'tsbpf_nope' in the object \(have: tsbpf_opt, tsbpf_opt_link\)/);
});

test("a kernel that refuses '?' in DATASEC names (qmarkDatasec forced off) gets '_.struct_ops', and tsbpf_opt still registers", () => {
  forceMissingBtfFeatures(['qmarkDatasec']);
  let c: Collection | undefined;
  try {
    c = loadOpt({ autocreate: { tsbpf_opt: true } });
    assert.ok(c.btfChanges.includes("DATASEC '?' -> '_'"), c.btfChanges.join(', '));
    const inKernel = Btf.parse(btfRaw(c.btfFd!));
    const names = [...inKernel.types()].filter((t) => t.kind === 'datasec').map((t) => t.name).sort();
    assert.equal(names, ['_.struct_ops', '_.struct_ops.link', 'license'], 'the BTF the kernel holds');
    assert.ok(words(AVAILABLE).includes(OPT));
  } finally {
    forceMissingBtfFeatures([]);
    c?.close();
  }
  assert.not.ok(words(AVAILABLE).includes(OPT));
  // unforced: the probe decides (Linux 6.9+ takes the '?' itself, and nothing is rewritten)
  const c2 = loadOpt({ autocreate: { tsbpf_opt: true } });
  try {
    const names = [...Btf.parse(btfRaw(c2.btfFd!)).types()].filter((t) => t.kind === 'datasec').map((t) => t.name).sort();
    const qmark = hasBtfFeature('qmarkDatasec');
    assert.is(c2.btfChanges.includes("DATASEC '?' -> '_'"), !qmark, 'rewritten exactly when the probe says the kernel refuses it');
    assert.equal(names, qmark ? ['?.struct_ops', '?.struct_ops.link', 'license'] : ['_.struct_ops', '_.struct_ops.link', 'license']);
  } finally {
    c2.close();
  }
});

uvuTest.run();
