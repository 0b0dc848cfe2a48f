// `node bin/load.js --events / --trace / --count`: records printed as the programs send them
// (JSON lines or text), the read/lost line per map at the end, bad MAP / TYPE refused; and
// the README's command: the uretprobe on bash's readline with --events events='struct event',
// lines typed into an interactive bash in a pty.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeFd, objGet, progTestRun } from '../../src/sys/index.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('cli-events');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/load.js', ...args], { cwd: root, encoding: 'utf8' });
const TAG = process.pid >>> 0;

/** A CLI run in the background: its stdout lines, stderr, exit. */
function start(args: string[]) {
  const p = spawn(process.execPath, ['bin/load.js', ...args], { cwd: root }) as ChildProcessWithoutNullStreams;
  let out = '', err = '';
  const waiters: Array<() => void> = [];
  p.stdout.on('data', (d) => { out += d; for (const w of waiters.splice(0)) w(); });
  p.stderr.on('data', (d) => { err += d; for (const w of waiters.splice(0)) w(); });
  const exited = new Promise<number | null>((res) => p.on('close', res));
  const until = async (f: () => boolean, ms = 20000) => {
    const end = Date.now() + ms;
    while (!f() && Date.now() < end) await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200)), exited]);
    return f();
  };
  return { p, exited, until, get out() { return out; }, get err() { return err; } };
}

/** BPF_PROG_TEST_RUN of a pinned program with this run's tag as the packet's first bytes. */
function fire(pin: string, repeat: number): void {
  const fd = objGet(pin);
  try {
    const pkt = new Uint8Array(64);
    new DataView(pkt.buffer).setUint32(0, TAG, true);
    progTestRun(fd, { data: pkt, repeat });
  } finally { closeFd(fd); }
}

test('--events ring=TYPE --events perf --trace --count --json: JSON lines, then the stats per map', async () => {
  const dir = `/sys/fs/bpf/tsbpf-cli-events-${process.pid}`;
  const run = start(['--pin', dir, '--events', 'ring=struct event', '--events', 'perf', '--trace', '--count', '5', '--json', 'bpf-objs/events.bpf.o']);
  try {
    assert.ok(await run.until(() => /reading events and bpf_printk lines until 5 arrive/.test(run.err)), run.err + run.out);
    const report = JSON.parse(run.out.split('\n')[0]!);
    assert.is(report.objects[0].file, 'bpf-objs/events.bpf.o', 'the report first, on one line');
    fire(`${dir}/say_hello`, 1);
    fire(`${dir}/to_ringbuf`, 3);
    fire(`${dir}/to_perf`, 2);
    assert.is(await run.exited, 0, run.err);
    const lines = run.out.trim().split('\n').slice(1).map((l) => JSON.parse(l));
    const events = lines.filter((l) => l.event).map((l) => l.event);
    assert.equal(events.map((e) => [e.map, e.value?.seq]), [['ring', 0], ['ring', 1], ['ring', 2], ['perf', undefined], ['perf', undefined]]);
    assert.equal(events[0].value.kind, 'ringbuf');
    assert.is(events[0].value.tag, TAG);
    assert.is(events[0].data.length, 128, 'ring records: 64 bytes as hex');
    assert.is(events[3].data.length, 136, 'perf records: 68 bytes (padded) as hex, not decoded');
    assert.ok(Number.isInteger(events[3].cpu));
    assert.ok(lines.some((l) => l.trace && l.trace.message === `tsbpf-events tag=${TAG} seq=0`), 'the bpf_printk line');
    assert.equal(lines.filter((l) => l.eventStats).map((l) => l.eventStats), [{ map: 'ring', read: 3, lost: 0 }, { map: 'perf', read: 2, lost: 0 }]);
    assert.match(run.err, /5 record\(s\) read: exiting; what is pinned stays/);
  } finally {
    if (run.p.exitCode === null) run.p.kill('SIGKILL');
    cli('--unpin', dir);
  }
  assert.not.ok(existsSync(dir));
});

test('--events alone reads every perf/ring map, text output; SIGINT stops it and prints the stats', async () => {
  const dir = `/sys/fs/bpf/tsbpf-cli-events-${process.pid}-b`;
  const run = start(['--pin', dir, '--events', 'bpf-objs/events.bpf.o']);
  try {
    assert.ok(await run.until(() => /reading events;/.test(run.err)), run.err + run.out);
    fire(`${dir}/to_ringbuf`, 1);
    fire(`${dir}/to_perf`, 1);
    assert.ok(await run.until(() => /^ring: 64 bytes/m.test(run.out) && /^perf cpu \d+: 68 bytes/m.test(run.out)), run.out);
    run.p.kill('SIGINT');
    assert.is(await run.exited, 0, run.err);
    assert.match(run.out, /^ring: 64 bytes 00000000 00000000 \S+ 746e7665 .*\|.*ringbuf.*\|$/m);
    assert.match(run.out, /^ring: 1 read, 0 lost/m);
    assert.match(run.out, /^perf: 1 read, 0 lost$/m);
    assert.match(run.err, /SIGINT: exiting; what is pinned stays/);
  } finally {
    if (run.p.exitCode === null) run.p.kill('SIGKILL');
    cli('--unpin', dir);
  }
});

test('bad --events: a map that is not a perf/ring buffer, no such map, a type not in the BTF: exit 2, one line', () => {
  const one = (r: ReturnType<typeof cli>, re: RegExp) => {
    assert.is(r.status, 2, r.stderr + r.stdout);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  one(cli('--events', '.bss', 'bpf-objs/events.bpf.o'), /^load: --events \.bss: '\.bss' is a array map, not a perf_event_array or ringbuf/);
  one(cli('--events', 'nope', 'bpf-objs/events.bpf.o'), /^load: --events nope: no map 'nope' in the object/);
  one(cli('--events', 'ring=struct nope', 'bpf-objs/events.bpf.o'), /^load: --events ring=struct nope: no type 'struct nope' in the object's BTF/);
  one(cli('--events', 'bpf-objs/tailcall_xdp.bpf.o'), /^load: --events: the object has no perf_event_array or ringbuf map/);
});

const tools = existsSync('/bin/bash') && spawnSync('script', ['--version']).status === 0;
(tools ? test : uvuTest.skip)("the README's command: --attach uretprobe_entry=BASH:readline --events events='struct event', lines typed into bash", async () => {
  // A uretprobe is set on a file: on /bin/bash it would also see every other interactive
  // bash on the machine (other test processes type lines into theirs at the same time), and
  // --count 2 would stop on their lines. So the command is given a copy of /bin/bash of this
  // run's own, and every event is ours.
  const dir = mkdtempSync(path.join(tmpdir(), `tsbpf-cli-bash-${process.pid}-`));
  const bash = path.join(dir, 'bash');
  copyFileSync('/bin/bash', bash);
  chmodSync(bash, 0o755);
  const run = start(['bpf-objs/tailcall_uretprobe.bpf.o', '--attach', `uretprobe_entry=${bash}:readline`, '--events', 'events=struct event', '--count', '2']);
  let sh: ReturnType<typeof spawn> | undefined;
  const marker = `tsbpf-cli-${process.pid}`;
  const printed = () => run.out.split('\n').filter((l) => l.startsWith('events cpu'));
  try {
    // generous waits: a loaded machine starts node and bash slowly (no assertion depends on speed)
    assert.ok(await run.until(() => /reading events until 2 arrive/.test(run.err), 120_000), run.err + run.out);
    // bash starts after the probe is set, so its every readline() returns through it; lines
    // are typed one at a time, each after the previous one's event, so that exactly two
    // records ever reach the buffer (a third one read in the same wake-up would count in
    // the 'read' line although --count stops the printing at two)
    sh = spawn('script', ['-qfec', `${bash} --norc --noprofile -i`, '/dev/null'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb', PS1: '$ ', HOME: '/tmp' }, stdio: ['pipe', 'ignore', 'ignore'] });
    for (const k of [1, 2]) {
      sh.stdin!.write(`echo ${marker}-${k}\n`);
      assert.ok(await run.until(() => printed().length >= k, 120_000), `the event of line ${k}: ${run.out} ${run.err}`);
    }
    assert.ok(await run.until(() => run.p.exitCode !== null, 120_000), `--count 2 ends the run: ${run.err}`);
    assert.is(await run.exited, 0, run.err);
    const mine = printed();
    assert.is(mine.length, 2, run.out);
    const re = /^events cpu \d+: \{slot: (135|146), pid: (\d+), rc: (-?\d+), line: "([^"]*)"\}$/;
    const pids = new Set<string>();
    mine.forEach((l, i) => {
      const m = re.exec(l);
      assert.ok(m, l);
      assert.is(Number(m![1]), BigInt(m![3]!) & 1n ? 135 : 146, 'the slot the tail call reached follows the parity of the return value');
      assert.is(m![4], `echo ${marker}-${i + 1}`, 'the line typed, in order');
      pids.add(m![2]!);
    });
    assert.is(pids.size, 1, `one bash typed both: ${mine.join(' / ')}`);
    assert.is(readlinkSync(`/proc/${[...pids][0]}/exe`), bash, 'the pid in the events is our bash');
    assert.match(run.out, /^events: 2 read, 0 lost$/m);
  } finally {
    sh?.stdin!.end('exit\n');
    if (run.p.exitCode === null) run.p.kill('SIGKILL');
    if (sh && sh.exitCode === null) await new Promise((r) => { sh!.once('close', r); setTimeout(r, 5000); });
    rmSync(dir, { recursive: true, force: true });
  }
});

uvuTest.run();
