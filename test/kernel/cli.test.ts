// `node bin/load.js` against the kernel: the real bin spawned. Needs root; skipped (with
// the reason printed) otherwise, except under CI=true where it must run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBpffs, Fd, mapCreate, objGet, objPin, progInfo } from '../../src/sys/index.js';
import { kernelStructHasMember, trampolineProbe } from '../helpers/kernel-probes.js';
import { acceptedHere, objectRefusal, programRefusal } from '../helpers/requirements.js';
import { describe, matchesRefusal } from '../../scripts/vm/requirements.mjs';
import { objectWithRunNames } from '../helpers/struct-ops-names.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (args: string[], pre: string[] = []) => {
  const cmd = pre.length ? pre[0]! : process.execPath;
  const argv = pre.length ? [...pre.slice(1), process.execPath, 'bin/load.js', ...args] : ['bin/load.js', ...args];
  return spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' });
};
const { run, test: kt } = kernelSuite('cli');

// A tail-call object without CO-RE and a program the verifier refuses, built with clang.
const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-cli-'));
const src = path.join(tmp, 'cli_tc.bpf.c');
const obj = path.join(tmp, 'cli_tc.bpf.o');
copyFileSync(path.join(root, 'test/data/cli_tc.bpf.c'), src);
const clang = spawnSync('clang-19', ['-g', '-O2', '-target', 'bpf', `-I/usr/include/${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`, '-c', src, '-o', obj], { encoding: 'utf8' });
const haveObj = clang.status === 0;
const clangWhy = clang.error?.message ?? clang.stderr.split('\n')[0];
// under CI=true (.ci/run installs clang-19) a missing compiler fails these tests instead of skipping them
const mustRun = run && process.env.CI === 'true';
if (!haveObj && !mustRun) console.log(`  skipped the clang-built cases: clang-19 failed or is missing (${clangWhy})`);
const ct = run && (haveObj || mustRun) ? (name: string, fn: () => void) => test(name, () => { assert.ok(haveObj, `clang-19 could not build the test object: ${clangWhy}`); fn(); }) : test.skip;
const good = ['--only', 'tc_a', '--only', 'tc_b', '--only', 'tc_entry'];
const infoHasVerifiedInsns = kernelStructHasMember('bpf_prog_info', 'verified_insns');
const BPF2BPF = ['calls_xdp', 'loop_sock', 'foreach_tc'];
/** bpf2bpf's programs this kernel refuses by bpf-objs/kernel-requirements.json (bpf_loop 5.17, bpf_for_each_map_elem 5.13). */
const bpf2bpfRefused = BPF2BPF.filter((n) => programRefusal('bpf2bpf.bpf.o', n));

kt('every program accepted: exit 0, JSON shape of the issue', () => {
  // two objects every kernel of the matrix takes (bpf2bpf's callbacks need 5.13 / 5.17)
  const r = cli(['--json', 'bpf-objs/tailcall_run.bpf.o', 'bpf-objs/nobtf.bpf.o']);
  assert.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(Object.keys(doc), ['objects']);
  assert.is(doc.objects.length, 2);
  const o = doc.objects[0];
  assert.equal(Object.keys(o), ['file', 'programs', 'maps', 'tailCalls']);
  for (const p of o.programs) {
    assert.equal(Object.keys(p), ['name', 'section', 'type', 'verdict', 'insns', 'verifiedInsns', 'loadMs']);
    assert.is(p.verdict, 'accepted');
    // verifiedInsns: from bpf_prog_info (5.16+); null before, when no log was asked for
    assert.ok((infoHasVerifiedInsns ? p.verifiedInsns > 0 : p.verifiedInsns === null) && p.loadMs > 0 && p.insns > 0, JSON.stringify(p));
  }
  const plain = ['name', 'type', 'keySize', 'valueSize', 'maxEntries', 'flags'];
  for (const m of o.maps) assert.equal(Object.keys(m), m.type === 'prog_array' ? [...plain, 'contents'] : plain, m.name);
});

ct('a rejected program: exit 1, the failing instruction, its C source line, the log tail', () => {
  const r = cli([obj]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, /bad_read\s+xdp\s+xdp\/xdp\s+rejected/);
  assert.match(r.stdout, /at insn 1: r0 = \*\(u32 \*\)\(r1 \+0\)/);
  assert.match(r.stdout, /source: .*cli_tc\.bpf\.c:18: return \*p;/);
  assert.match(r.stdout, /invalid access to packet/);
  assert.match(r.stdout, /tc_entry -> tc_table\[5\] -> tc_b/);
  assert.match(r.stdout, /tc_table\[2\] -> tc_a: filled, but no tail call in this object reaches it/);
  const j = JSON.parse(cli(['--json', obj]).stdout);
  const bad = j.objects[0].programs.find((p: { name: string }) => p.name === 'bad_read');
  assert.is(bad.verdict, 'rejected');
  assert.match(bad.error, /verifier rejected program 'bad_read'/);
  assert.is(bad.verifiedInsns, 2);
  assert.equal(j.objects[0].tailCalls, [{ map: 'tc_table', slot: 2, program: 'tc_a' }, { map: 'tc_table', slot: 5, program: 'tc_b' }]);
});

/** Well-formedness: every tag closes in order; attributes quoted; returns the elements. */
function parseXml(xml: string): Array<{ name: string; attrs: Record<string, string>; text: string }> {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: Array<{ name: string; attrs: Record<string, string>; text: string }> = [];
  const all: typeof stack = [];
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < body.length && (m = re.exec(body))) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`bad entity in ${m[5]}`);
      if (stack.length) stack[stack.length - 1]!.text += m[5]; else if (m[5].trim()) throw new Error('text outside the root');
      continue;
    }
    if (m[1]) {
      const top = stack.pop();
      if (top?.name !== m[2]) throw new Error(`</${m[2]}> closes <${top?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3]!.matchAll(/([\w:.-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    const el = { name: m[2]!, attrs, text: '' };
    all.push(el);
    if (!m[4]) stack.push(el);
  }
  if (pos !== body.length || stack.length) throw new Error(`not well-formed at ${pos}: ${body.slice(pos, pos + 40)}`);
  return all;
}

ct('--junit: well-formed XML, one test case per program, the rejection as a failure', () => {
  const file = path.join(tmp, 'junit.xml');
  const r = cli(['--junit', file, obj, 'bpf-objs/bpf2bpf.bpf.o']);
  assert.is(r.status, 1, r.stderr);
  const els = parseXml(readFileSync(file, 'utf8'));
  const top = els[0]!;
  // bpf2bpf's programs this kernel refuses (the requirements' table) are failures too
  const n = bpf2bpfRefused.length;
  assert.is(top.name, 'testsuites');
  assert.equal([top.attrs.tests, top.attrs.failures, top.attrs.skipped], ['7', String(1 + n), '0']);
  assert.equal(els.filter((e) => e.name === 'testsuite').map((e) => [e.attrs.tests, e.attrs.failures]), [['4', '1'], ['3', String(n)]]);
  assert.is(els.filter((e) => e.name === 'testcase').length, 7);
  const f = els.filter((e) => e.name === 'failure');
  assert.is(f.length, 1 + n);
  assert.match(f[0]!.text, /invalid access to packet/);
  assert.match(f[0]!.text, /source: .*cli_tc\.bpf\.c:18/);
  for (const name of bpf2bpfRefused) assert.ok(f.some((x) => (x.attrs.message ?? '').includes(programRefusal('bpf2bpf.bpf.o', name)!.missing!.feature)), `${name}: its failure's message names what the kernel lacks`);
});

ct('--pin: bpftool sees the slots filled with the pinned programs; --unpin leaves nothing', () => {
  const dir = `/sys/fs/bpf/tsbpf-cli-test-${process.pid}`;
  const r = cli(['--pin', dir, ...good, obj]);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.equal(readdirSync(dir).sort(), ['maps', 'tc_a', 'tc_b', 'tc_entry', 'tsbpf-pins']);
  assert.equal(readdirSync(path.join(dir, 'tsbpf-pins')).map((e) => readlinkSync(path.join(dir, 'tsbpf-pins', e))).sort(), ['../maps/tc_table', '../tc_a', '../tc_b', '../tc_entry'], 'the manifest lists every pin');
  assert.equal(readdirSync(path.join(dir, 'maps')), ['tc_table']);
  const dump = JSON.parse(spawnSync('bpftool', ['-j', 'map', 'dump', 'pinned', path.join(dir, 'maps', 'tc_table')], { encoding: 'utf8' }).stdout);
  const id = (p: string) => JSON.parse(spawnSync('bpftool', ['-j', 'prog', 'show', 'pinned', path.join(dir, p)], { encoding: 'utf8' }).stdout).id;
  const slots = dump.map((e: { key: string[]; value: string[] }) => [Number.parseInt(e.key[0]!, 16), Buffer.from(e.value.map((b) => Number.parseInt(b, 16))).readUInt32LE(0)]);
  assert.equal(slots, [[2, id('tc_a')], [5, id('tc_b')]]);
  // pinning again over the same directory is refused without loading anything twice
  const again = cli(['--pin', dir, ...good, obj]);
  assert.is(again.status, 2);
  assert.match(again.stderr, /already exists/);
  const u = cli(['--unpin', dir]);
  assert.is(u.status, 0, u.stderr);
  assert.ok(!existsSync(dir), 'directory removed');
  assert.is(cli(['--unpin', dir]).status, 2, 'nothing left to unpin');
});

/** A pin that is not tsbpf's (another tool's map) at `at`. */
function foreignPin(at: string): void {
  const m = new Fd(mapCreate({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: 'foreign' }), 'foreign map');
  try { objPin(m, at); } finally { m.close(); }
}

kt('--unpin removes what --pin pinned and nothing else: the manifest, or the objects named; none and nothing is removed', () => {
  const dir = `/sys/fs/bpf/tsbpf-cli-unpin-${process.pid}`;
  const nobtf = 'bpf-objs/nobtf.bpf.o';
  try {
    assert.is(cli(['--pin', dir, nobtf]).status, 0);
    foreignPin(`${dir}/foreign`); // another tool pins next to ours (iproute2's /sys/fs/bpf/tc, say)
    foreignPin(`${dir}/maps/foreign_map`);
    const u = cli(['--unpin', dir]);
    assert.is(u.status, 0, u.stderr);
    assert.match(u.stdout, /unpinned 3 object\(s\) under .* \(listed in its manifest\); .* stays: it holds 2 entries tsbpf did not pin/);
    assert.equal(readdirSync(dir).sort(), ['foreign', 'maps']);
    assert.equal(readdirSync(`${dir}/maps`), ['foreign_map']);
    // no manifest and no object: nothing is removed, one line says why
    const none = cli(['--unpin', dir]);
    assert.is(none.status, 2);
    assert.is(none.stderr.trim().split('\n').length, 1);
    assert.match(none.stderr, /^load: --unpin .*: no manifest there \(tsbpf-pins, written by --pin\) and no object given/);
    assert.equal(readdirSync(dir).sort(), ['foreign', 'maps']);
    // no manifest, the object named: only its layout (DIR/<prog>, DIR/maps/<map>) goes
    assert.is(cli(['--pin', `${dir}/again`, nobtf]).status, 0);
    rmSync(`${dir}/again/tsbpf-pins`, { recursive: true });
    const byObj = cli(['--unpin', dir, nobtf]);
    assert.is(byObj.status, 0, byObj.stderr);
    assert.match(byObj.stdout, /unpinned 0 object\(s\) under .* \(the layout --pin writes for bpf-objs\/nobtf\.bpf\.o\)/);
    const again = cli(['--unpin', `${dir}/again`, nobtf]);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stdout, /unpinned 3 object\(s\)/);
    assert.not.ok(existsSync(`${dir}/again`));
    assert.equal(readdirSync(dir).sort(), ['foreign', 'maps']);
  } finally {
    for (const p of [`${dir}/foreign`, `${dir}/maps/foreign_map`]) if (existsSync(p)) unlinkSync(p);
    for (const d of [`${dir}/maps`, dir]) if (existsSync(d)) rmdirSync(d);
  }
});

kt('a bpffs mount root is refused by --unpin and --pin with one line (in a private mount namespace with its own bpffs)', () => {
  const node = JSON.stringify(process.execPath);
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
    `mount -t bpf bpf /sys/fs/bpf && before=$(ls -A /sys/fs/bpf | tr '\\n' ' ') && ${node} bin/load.js --unpin /sys/fs/bpf; echo "rc=$?"; ${node} bin/load.js --pin /sys/fs/bpf bpf-objs/nobtf.bpf.o; echo "rc=$?"; [ "$(ls -A /sys/fs/bpf | tr '\\n' ' ')" = "$before" ] && echo unchanged`], { cwd: root, encoding: 'utf8' });
  assert.equal(r.stdout.trim().split('\n'), ['rc=2', 'rc=2', 'unchanged'], r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /^load: --unpin \/sys\/fs\/bpf: that is the root of a bpffs mount, not a directory of pins/);
  assert.match(lines[1]!, /^load: --pin \/sys\/fs\/bpf: that is the root of a bpffs mount, not a directory of pins: pin into a directory under it/);
});

kt('a program renamed ../../zzz in .strtab: --pin, --log and --unpin refuse the name, nothing is loaded or written outside', () => {
  const b = Buffer.from(readFileSync(path.join(root, 'bpf-objs/nobtf.bpf.o')));
  const at = b.indexOf('xdp_nobtf');
  assert.ok(at > 0);
  b.write('../../zzz', at, 'latin1');
  const renamed = path.join(tmp, 'renamed.o');
  writeFileSync(renamed, b);
  const base = `/sys/fs/bpf/tsbpf-cli-names-${process.pid}`;
  ensureBpffs(base, { create: true });
  try {
    const p = cli(['--pin', `${base}/a/b`, renamed]);
    assert.is(p.status, 2, p.stdout);
    assert.match(p.stderr, /^load: .*renamed\.o.*program name "\.\.\/\.\.\/zzz" cannot be a file name in \/sys\/fs\/bpf\/tsbpf-cli-names-\d+\/a\/b/);
    assert.equal(readdirSync(base), [], 'nothing pinned anywhere under it');
    assert.not.ok(existsSync(`${base}/zzz`));
    const logs = path.join(tmp, 'renamed-logs', 'x', 'y');
    const l = cli(['--log', logs, renamed]);
    assert.is(l.status, 2);
    assert.match(l.stderr, /program name "renamed\.\.\.\/\.\.\/zzz\.log" cannot be a file name/);
    assert.not.ok(existsSync(path.join(tmp, 'renamed-logs', 'zzz.log')));
    const u = cli(['--unpin', base, renamed]);
    assert.is(u.status, 2);
    assert.match(u.stderr, /"\.\.\/\.\.\/zzz" cannot be a file name/);
  } finally { rmSync(base, { recursive: true, force: true }); }
});

kt('--max-map-bytes: a map over the limit is not created; the object is reported NOT LOADED naming the map, its size and the option', () => {
  const r = cli(['--json', '--max-map-bytes', '32', 'bpf-objs/tailcall_run.bpf.o']);
  assert.is(r.status, 1, r.stderr);
  const o = JSON.parse(r.stdout).objects[0];
  assert.match(o.programs[0].error, /not loaded: the object failed to load \(map 'run_table' \(prog_array, max_entries 8, key 4, value 4\) would take about 64 bytes of kernel memory, over the limit of 32 bytes: not created.*--max-map-bytes N/);
  assert.ok(o.programs.every((p: { verdict: string }) => p.verdict !== 'accepted'));
  const k = cli(['--max-map-bytes', '1K', 'bpf-objs/tailcall_run.bpf.o']);
  assert.is(k.status, 0, k.stderr + k.stdout);
});

kt('maps pinned by name are unpinned at exit unless --pin', () => {
  const at = '/sys/fs/bpf/tsbpf_pinned';
  if (existsSync(at)) return; // someone else's pin: leave it alone
  const refused = objectRefusal('map_types.bpf.o');
  if (refused) {
    // no bloom filter (5.16): the object is refused as listed, and its pin is not left behind
    const j = cli(['--json', 'bpf-objs/map_types.bpf.o']);
    assert.is(j.status, 1, j.stderr);
    const o = JSON.parse(j.stdout).objects[0];
    assert.ok(matchesRefusal(refused, { why: o.errorWhy, error: o.error }), `${describe(refused)}: ${o.error}`);
    assert.ok(!existsSync(at), 'no pin left by the refused load');
    console.log(`  (${describe(refused)}: nothing pinned is left behind)`);
    return;
  }
  const r = cli(['bpf-objs/map_types.bpf.o']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /tsbpf_pinned: pinned by name at \/sys\/fs\/bpf\/tsbpf_pinned by this run; unpinned at exit/);
  assert.ok(!existsSync(at));
});

kt('optional struct_ops maps: not created (and not a failure) by default; --create loads one with its programs; both at once is refused', () => {
  // a copy with this run's congestion control names: they are kernel-global, and other test runs register tsbpf_opt too
  const obj = objectWithRunNames(path.join(root, 'bpf-objs/struct_ops_optional.bpf.o'), tmp);
  const d = cli([obj]);
  assert.is(d.status, 0, d.stderr + d.stdout);
  assert.match(d.stdout, /tsbpf_opt_link +struct_ops .* not created: SEC\("\?\.struct_ops\.link"\)/);
  assert.not.match(d.stdout, /NOT LOADED|REJECTED/);
  assert.match(d.stdout, /nothing was loaded/);
  const c = cli(['--json', '--create', 'tsbpf_opt', obj]);
  assert.is(c.status, 0, c.stderr + c.stdout);
  const o = JSON.parse(c.stdout).objects[0];
  assert.equal(o.programs.map((p: { name: string; verdict: string }) => [p.name, p.verdict]),
    [['opt_ssthresh', 'accepted'], ['opt_cong_avoid', 'accepted'], ['opt_cwnd', 'accepted'], ['opt_link_undo_cwnd', 'skipped']]);
  assert.equal(o.maps.map((m: { name: string; created?: boolean }) => [m.name, m.created]), [['tsbpf_opt', undefined], ['tsbpf_opt_link', false]]);
  const both = cli(['--create', 'tsbpf_opt', '--create', 'tsbpf_opt_link', obj]);
  assert.is(both.status, 1, both.stderr + both.stdout);
  assert.match(both.stdout, /NOT LOADED: .*program 'opt_cwnd' is tcp_congestion_ops\.undo_cwnd .* cannot also be tcp_congestion_ops\.ssthresh/);
});

kt('--log DIR: one full log per program; --set and --type errors name what is wrong', () => {
  const dir = path.join(tmp, 'logs');
  // the programs this kernel takes (all three from 5.17)
  const here = acceptedHere('bpf2bpf.bpf.o', BPF2BPF);
  const r = cli(['--log', dir, ...here.flatMap((n) => ['--only', n]), 'bpf-objs/bpf2bpf.bpf.o']);
  assert.is(r.status, 0, r.stderr);
  assert.equal(readdirSync(dir).sort(), here.map((n) => `bpf2bpf.${n}.log`).sort());
  assert.match(readFileSync(path.join(dir, 'bpf2bpf.calls_xdp.log'), 'utf8'), /processed \d+ insns/);
  const s = cli(['--set', 'nope=1', 'bpf-objs/global_data.bpf.o']);
  assert.is(s.status, 2);
  assert.match(s.stderr, /^load: .*no global variable 'nope'/);
  const t = cli(['--type', 'calls_xdp=socket', '--only', 'calls_xdp', 'bpf-objs/bpf2bpf.bpf.o']);
  assert.is(t.status, 0, t.stderr + t.stdout);
  assert.match(t.stdout, /calls_xdp\s+xdp\s+socket_filter\s+accepted/);
});

kt('--target: a freplace program gets its target from a pinned program or an id, and is loaded although its section starts with ?', () => {
  const dir = `/sys/fs/bpf/tsbpf-cli-target-${process.pid}`;
  const obj = 'bpf-objs/freplace.bpf.o';
  const pin = cli(['--pin', dir, obj]);
  assert.is(pin.status, 0, pin.stderr + pin.stdout);
  try {
    const f = new Fd(objGet(`${dir}/entry`), 'test');
    const id = progInfo(f).id;
    f.close();
    const tramp = trampolineProbe();
    const byPin = cli(['--only', 'new_pick', '--target', `new_pick=${dir}/entry`, obj]);
    const byId = cli(['--target', `new_pick=id:${id}@pick`, obj]);
    if (tramp.ok) {
      for (const r of [byPin, byId]) {
        assert.is(r.status, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /new_pick\s+freplace\/pick\s+ext\s+accepted/);
        assert.match(r.stdout, new RegExp(`new_pick: attach pick in program entry \\(id ${id}\\)`));
      }
      assert.match(byId.stdout, /entry\s+xdp\s+xdp\/xdp\s+accepted/, 'without --only the autoloaded programs load too');
    } else {
      console.log(`  (BPF trampolines refused here: ${tramp.why}; --target must end in that rejection)`);
      for (const r of [byPin, byId]) {
        assert.is(r.status, 1, r.stderr + r.stdout);
        assert.match(r.stdout, /new_pick\s+freplace\/pick\s+ext\s+rejected/);
        assert.match(r.stdout, /EPERM before verification.*trampoline/);
        assert.not.match(r.stdout, /NOT LOADED/, 'a rejected target-taking program does not fail the whole object');
      }
      assert.match(byId.stdout, /entry\s+xdp\s+xdp\/xdp\s+accepted/, 'without --only the autoloaded programs load');
    }
    const missing = cli(['--target', `new_pick=${dir}/nope`, obj]);
    assert.is(missing.status, 2);
    assert.match(missing.stderr, /^load: --target new_pick=.*\/nope: no program there \(ENOENT\)/);
  } finally {
    assert.is(cli(['--unpin', dir]).status, 0);
  }
});

kt('no privileges: exit 2, one line that says how to fix it', () => {
  const r = cli(['bpf-objs/bpf2bpf.bpf.o'], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all']);
  if (r.error) return console.log(`  (setpriv unavailable: ${r.error.message})`);
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /EPERM: not permitted; run it as root \(sudo node bin\/load\.js \.\.\.\), or give CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN to this one command only: sudo capsh /);
  // setcap on node would give the capabilities to every Node script: only mentioned as what not to do
  assert.not.match(r.stderr, /setcap cap_/);
  assert.match(r.stderr, /\(not setcap on the node binary: that grants them to every Node script on the host\)$/m);
  // the wrapper the hint gives works, for this one command, as an unprivileged user (root here stands in for sudo)
  const wrapper = /sudo (capsh .*?) -- -c "node bin\/load\.js \.\.\."/.exec(r.stderr)![1]!.replace('--user="$USER"', '--user=nobody');
  const w = spawnSync('sh', ['-c', `${wrapper} -- -c 'id -u; ${JSON.stringify(process.execPath)} bin/load.js --only calls_xdp bpf-objs/bpf2bpf.bpf.o'`], { cwd: root, encoding: 'utf8' });
  assert.is(w.status, 0, w.stderr + w.stdout);
  assert.match(w.stdout, /^65534$/m);
  assert.match(w.stdout, /calls_xdp\s+xdp\s+xdp\/xdp\s+accepted/);
});

test.run();
