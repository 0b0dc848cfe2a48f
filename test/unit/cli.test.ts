// `node bin/load.js` cases that need no privileges: usage, unreadable objects, --no-load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/cli/kernels.js';
import { EnvironmentError } from '../../src/cli/env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8' });
const tmp = mkdtempSync(path.join(tmpdir(), 'tsbpf-cli-unit-'));
const fixture = readFileSync(path.join(root, 'bpf-objs/nobtf.bpf.o'));
const patched = (name: string, f: (b: Buffer) => void) => { const b = Buffer.from(fixture); f(b); const p = path.join(tmp, name); writeFileSync(p, b); return p; };

function oneLine(r: ReturnType<typeof cli>, re: RegExp) {
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stdout, '');
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stderr, re);
}

test('--help: every option, exit 0', () => {
  const r = cli('--help');
  assert.is(r.status, 0);
  for (const o of ['--pin DIR', '--unpin DIR', '--json', '--junit FILE', '--log DIR', '--log-level N', '--set NAME=VALUE', '--type PROG=TYPE', '--only PROG', '--create MAP', '--btf FILE', '--target PROG=REF', '--attach [PROG=TARGET]', '--events [MAP[=TYPE]]', '--trace', '--count N', '--duration S', '--no-load', '--features', '--kernel LIST', '--gen']) assert.ok(r.stdout.includes(o), o);
});

test('--gen hands the command line to tsbpf-gen: its --help, its usage errors (exit 2), its module on stdout', () => {
  const h = cli('--gen', '--help');
  assert.is(h.status, 0);
  for (const o of ['-o, --output FILE', '--type [MAP=]TYPE', '--embed', '--import MODULE']) assert.ok(h.stdout.includes(o), o);
  for (const [args, re] of [[['--gen'], /^tsbpf-gen: no object given/], [['--gen', '--frob', 'x.o'], /^tsbpf-gen: Unknown option '--frob'/], [['--gen', 'a.o', 'b.o'], /^tsbpf-gen: one object at a time/], [['--gen', 'nope.o'], /^tsbpf-gen: nope\.o: cannot read: ENOENT/]] as const) {
    const r = cli(...args);
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  const g = cli('--gen', 'bpf-objs/global_data.bpf.o');
  assert.is(g.status, 0, g.stderr);
  assert.match(g.stdout, "const OBJECT = { name: 'global_data.bpf.o', path: './bpf-objs/global_data.bpf.o' };");
  assert.match(g.stdout, 'export class GlobalDataSkeleton {');
});

test('usage errors: exit 2, one line', () => {
  oneLine(cli(), /^load: no object given/);
  oneLine(cli('--frobnicate', 'x.o'), /^load: unknown option --frobnicate/);
  oneLine(cli('-hx', 'x.o'), /^load: unknown option -x/);
  oneLine(cli('--json=yes', 'x.o'), /^load: --json takes no value/);
  oneLine(cli('x.o', '--pin'), /^load: --pin needs a value\n$/);
  oneLine(cli('--pin', '--json', 'x.o'), /^load: --pin needs a value, not --json \(write --pin=--json for a value that starts with '-'\)/);
  oneLine(cli('--log-level', 'lots', 'x.o'), /^load: --log-level lots: expected a number/);
  oneLine(cli('--set', 'scale', 'x.o'), /^load: --set scale: expected NAME=VALUE/);
  oneLine(cli('--count', '2', 'x.o'), /^load: --count N is how many records --events \(or lines --trace\) prints/);
  oneLine(cli('--only', 'nope', 'bpf-objs/nobtf.bpf.o'), /^load: --only nope: no program 'nope' in bpf-objs\/nobtf\.bpf\.o \(have: sock_nobtf, xdp_nobtf\)/);
  oneLine(cli('--create', 'nope', 'bpf-objs/struct_ops_optional.bpf.o'), /^load: --create nope: no map 'nope' in bpf-objs\/struct_ops_optional\.bpf\.o \(have: tsbpf_opt, tsbpf_opt_link\)/);
  oneLine(cli('--type', 'sock_nobtf=bogus', 'bpf-objs/nobtf.bpf.o'), /^load: --type sock_nobtf=bogus: 'bogus' is neither a program type/);
  oneLine(cli('--no-load', '--set', 'nope=3', 'bpf-objs/global_data.bpf.o'), /no global variable 'nope'/);
  oneLine(cli('--btf', path.join(tmp, 'missing.btf'), 'bpf-objs/nobtf.bpf.o'), /^load: --btf .*missing\.btf: cannot read it \(ENOENT\)/);
  oneLine(cli('--btf', 'package.json', 'bpf-objs/nobtf.bpf.o'), /^load: --btf package\.json: not a BTF file/);
  oneLine(cli('--pin', tmp, 'bpf-objs/nobtf.bpf.o'), /^load: --pin .*: not on a bpffs mount/);
  oneLine(cli('--max-map-bytes', '1.5G', 'bpf-objs/nobtf.bpf.o'), /^load: --max-map-bytes 1\.5G: expected a number of bytes, optionally with K, M or G/);
  oneLine(cli('--target', 'new_pick', 'bpf-objs/freplace.bpf.o'), /^load: --target new_pick: expected PROG=REF/);
  oneLine(cli('--target', 'new_pick=id:x', 'bpf-objs/freplace.bpf.o'), /^load: --target new_pick=id:x: REF is a pinned program path or id:N/);
  oneLine(cli('--no-load', '--target', 'nope=id:1', 'bpf-objs/freplace.bpf.o'), /^load: --target nope=id:1: no program 'nope' in bpf-objs\/freplace\.bpf\.o \(have: entry, new_pick, after_pick\)/);
  oneLine(cli('--attach', 'nope=x', 'bpf-objs/attach_trace.bpf.o'), /^load: --attach nope=x: no program 'nope' in bpf-objs\/attach_trace\.bpf\.o \(have: tp_enter_getppid, /);
  oneLine(cli('--attach', 'tp_enter_getppid=sys_enter_getppid', 'bpf-objs/attach_trace.bpf.o'), /^load: --attach tp_enter_getppid=sys_enter_getppid: expected CATEGORY\/NAME \(tracepoint\)/);
  oneLine(cli('--attach', 'xdp_count=veth0:fast', 'bpf-objs/attach_net.bpf.o'), /^load: --attach xdp_count=veth0:fast: XDP mode 'fast': expected skb, drv or hw/);
  oneLine(cli('--attach', 'up_add=/bin/bash:readline+x', 'bpf-objs/attach_trace.bpf.o'), /'x' is not an offset/);
  oneLine(cli('--duration', '2', 'bpf-objs/attach_trace.bpf.o'), /^load: --duration S is how long --attach stays attached \(or --events \/ --trace read\): give one of them too/);
  oneLine(cli('--attach', '--duration', 'soon', 'bpf-objs/attach_trace.bpf.o'), /^load: --duration soon: expected a number of seconds > 0/);
  oneLine(cli('--no-load', '--attach', 'bpf-objs/attach_trace.bpf.o'), /^load: --no-load loads nothing: --attach needs a load/);
  oneLine(cli('--features', 'bpf-objs/nobtf.bpf.o'), /^load: --features probes the kernel and takes no objects/);
  oneLine(cli('--features', '--kernel', '6.1'), /^load: --features goes alone \(with --json\)/);
  oneLine(cli('--kernel', ',', 'bpf-objs/nobtf.bpf.o'), /^load: --kernel ,: expected kernels such as 5\.10,6\.1/);
  oneLine(cli('--kernel', '6.1', '--pin', '/sys/fs/bpf/x', 'bpf-objs/nobtf.bpf.o'), /^load: --kernel loads the objects inside VMs that stop afterwards/);
  oneLine(cli('--kernel', '6.1', 'package.json'), /^load: package\.json.*not an ELF file/);
});

test('objects that cannot be read: exit 2, one line each', () => {
  oneLine(cli('nope.o'), /^load: nope\.o: cannot read object: no such file/);
  oneLine(cli('package.json'), /^load: package\.json.*bad magic: not an ELF file/);
  oneLine(cli(tmp), /cannot read object: is a directory/);
  const trunc = path.join(tmp, 'truncated.o'); writeFileSync(trunc, fixture.subarray(0, 100));
  oneLine(cli(trunc), /beyond the end of the file/);
  oneLine(cli(patched('be.o', (b) => { b[5] = 2; })), /big-endian objects are not supported/);
  oneLine(cli(patched('x86.o', (b) => { b.writeUInt16LE(62, 18); })), /not a BPF object: e_machine is 62/);
});

test('/dev/zero, a FIFO and a directory as the object or --btf: refused at once with one line, never read', () => {
  const fifo = path.join(tmp, 'fifo.o');
  spawnSync('mkfifo', [fifo]);
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  oneLine(run('/dev/zero'), /^load: \/dev\/zero: cannot read object: is a character device: only regular files are read/);
  oneLine(run('--no-load', '/dev/zero'), /cannot read object: is a character device/);
  oneLine(run('--btf', '/dev/zero', 'bpf-objs/nobtf.bpf.o'), /^load: --btf \/dev\/zero: cannot read it \(is a character device: only regular files are read\)/);
  oneLine(run('--no-load', fifo), /cannot read object: is a FIFO: only regular files are read/);
  oneLine(run('--btf', tmp, 'bpf-objs/nobtf.bpf.o'), /^load: --btf .*: cannot read it \(is a directory: only regular files are read\)/);
});

test('--no-load: the static report and the JSON shape, without privileges', () => {
  const r = cli('--no-load', 'bpf-objs/tailcall_uretprobe.bpf.o');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /jmp_table: \[135\] -> handle_odd, \[146\] -> handle_even/);
  assert.match(r.stdout, /uretprobe_entry -> jmp_table\[135\] -> handle_odd\n\s+uretprobe_entry -> jmp_table\[146\] -> handle_even/);
  const j = JSON.parse(cli('--no-load', '--json', 'bpf-objs/tailcall_run.bpf.o').stdout);
  const o = j.objects[0];
  assert.equal(Object.keys(o), ['file', 'programs', 'maps', 'tailCalls']);
  assert.equal(Object.keys(o.programs[0]), ['name', 'section', 'type', 'verdict', 'insns', 'verifiedInsns', 'loadMs']);
  assert.equal(o.tailCalls.find((t: { slot: number }) => t.slot === 5), { map: 'run_table', slot: 5, program: 'tail_loop' });
  assert.equal(o.maps.find((m: { name: string }) => m.name === 'run_table').contents.length, 5);
  const x = cli('--no-load', 'bpf-objs/tailcall_xdp.bpf.o');
  assert.match(x.stdout, /xdp_entry -> xdp_progs\[0\] -> \(empty: falls through\)/);
  assert.match(x.stdout, /xdp_progs\[0\]: called by xdp_entry .* nothing fills it/);
});

test('--no-load: optional struct_ops maps are shown as not created, their programs as not loaded, and --create turns one on', () => {
  const t = cli('--no-load', 'bpf-objs/struct_ops_optional.bpf.o');
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, /tsbpf_opt +struct_ops +key 4 value 192 max 1  not created: SEC\("\?\.struct_ops"\) \(autocreate off; --create tsbpf_opt creates it\)/);
  assert.match(t.stdout, /opt_ssthresh .* skipped .* used only by struct_ops maps that are not created \(tsbpf_opt\)/);
  const o = JSON.parse(cli('--no-load', '--json', 'bpf-objs/struct_ops_optional.bpf.o').stdout).objects[0];
  assert.equal(o.maps.map((m: { name: string; created?: boolean }) => [m.name, m.created]), [['tsbpf_opt', false], ['tsbpf_opt_link', false]]);
  assert.match(o.maps[1].note, /SEC\("\?\.struct_ops\.link"\)/);
  assert.equal(o.programs.map((p: { name: string; error?: string }) => [p.name, p.error]), [
    ['opt_ssthresh', 'used only by struct_ops maps that are not created (tsbpf_opt)'],
    ['opt_cong_avoid', 'used only by struct_ops maps that are not created (tsbpf_opt, tsbpf_opt_link)'],
    ['opt_cwnd', 'used only by struct_ops maps that are not created (tsbpf_opt, tsbpf_opt_link)'],
    ['opt_link_undo_cwnd', 'used only by struct_ops maps that are not created (tsbpf_opt_link)'],
  ]);
  // other objects' maps keep their shape: no created / note keys
  assert.equal(Object.keys(JSON.parse(cli('--no-load', '--json', 'bpf-objs/struct_ops.bpf.o').stdout).objects[0].maps[0]), ['name', 'type', 'keySize', 'valueSize', 'maxEntries', 'flags']);

  const c = JSON.parse(cli('--no-load', '--json', '--create', 'tsbpf_opt_link', 'bpf-objs/struct_ops_optional.bpf.o').stdout).objects[0];
  assert.equal(c.maps.map((m: { name: string; created?: boolean }) => [m.name, m.created]), [['tsbpf_opt', false], ['tsbpf_opt_link', undefined]]);
  assert.equal(c.programs.filter((p: { error?: string }) => !p.error).map((p: { name: string }) => p.name), ['opt_cong_avoid', 'opt_cwnd', 'opt_link_undo_cwnd'], 'the SEC("?...") one too');
});

test('--kernel from a package without the VM runner: an EnvironmentError (one line, exit 2), not a crash', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-noroot-'));
  assert.throws(() => packageRoot(path.join(dir, 'dist', 'cli.bundle.cjs')), (e: unknown) => e instanceof EnvironmentError && /scripts\/vm\/run\.mjs/.test((e as Error).message));
});

test.run();

test('start-up: `node bin/load.js --no-load` loads no Node module beyond `node -e 0` but vm and util\'s parseArgs (no ES module loader, streams, zlib, perf_hooks), and its report still reaches a pipe', () => {
  // Node's own modules loaded when the process exits (process.moduleLoadList), from a --require hook
  const hook = path.join(tmp, 'modules.cjs');
  writeFileSync(hook, "process.on('exit', () => require('node:fs').writeSync(2, `\\nMODULES ${process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ')}\\n`));");
  const modules = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--require', hook, ...args], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return { stdout: r.stdout, loaded: new Set(/^MODULES (.*)$/m.exec(r.stderr)![1]!.split(' ')) };
  };
  const node = modules('-e', '0').loaded;
  const r = modules('bin/load.js', '--no-load', path.join(root, 'bpf-objs/tailcall_uretprobe.bpf.o'));
  assert.match(r.stdout, /jmp_table: \[135\] -> handle_odd, \[146\] -> handle_even\n/);
  const extra = [...r.loaded].filter((m) => !node.has(m)).sort();
  assert.equal(extra, ['internal/util/parse_args/parse_args', 'internal/util/parse_args/utils', 'vm']);
});
