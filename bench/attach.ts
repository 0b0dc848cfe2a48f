/**
 * Attach + detach of one uprobe and one kprobe, tsbpf against libbpf in the same run.
 * Not a test: run on purpose.
 *
 *   node --import tsx bench/attach.ts [--n N] [--rounds R] [--warm W] [--kind uprobe|kprobe|both] [--json] [--src]
 *
 * R rounds (default 5), each N attach + detach (default 20) with libbpf then N with tsbpf,
 * so that both see the same machine load, after W untimed ones (default 5) on each side;
 * the result is the median of the round medians.
 * uprobe: `up_add` of bpf-objs/attach_trace.bpf.o on tsbpf_target_add of the test target
 * (test/fixtures/attach_target.c, built with gcc): `program.attach({ binary, symbol })` +
 * `link.close()` against `bpf_program__attach_uprobe_opts(... .func_name)` +
 * `bpf_link__destroy` (bench/libbpf-attach.c). kprobe: `kp_openat` on do_sys_openat2,
 * `attach({ function })` against `bpf_program__attach_kprobe`. The kernel does most of
 * the work (uprobe registration, kprobe arming, RCU on detach); the ratio says what each
 * library adds. Hosts without kprobes (this one) run the kprobe half in a VM:
 *   node scripts/vm/run.mjs --kernel 6.12 -- node --import tsx bench/attach.ts --kind kprobe
 * (under qemu TCG: absolute numbers are slow, the ratio is what counts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildReference, buildTsbpf, die, median, root } from './common.js';
import { targetBinary } from '../test/helpers/target.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const n = Number(opt('--n', '20'));
const rounds = Number(opt('--rounds', '5'));
const warm = Number(opt('--warm', '5'));
const kind = opt('--kind', existsSync('/sys/bus/event_source/devices/kprobe') ? 'both' : 'uprobe');
const asJson = args.includes('--json');
const OBJ = join(root, 'bpf-objs/attach_trace.bpf.o');

interface Row { kind: string; tsbpfUs: number; libbpfUs: number; ratio: number; tsbpfAttachUs: number; libbpfAttachUs: number; attachRatio: number; how: string }

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) die('needs root (attaching probes)');
  const ref = buildReference('libbpf-attach');
  const { entry, how } = buildTsbpf(args.includes('--src'));
  const t = await import(entry) as typeof import('../src/index.js');
  const rows: Row[] = [];
  const kinds = kind === 'both' ? ['uprobe', 'kprobe'] : [kind];
  for (const k of kinds) {
    const prog = k === 'uprobe' ? 'up_add' : 'kp_openat';
    const target = k === 'uprobe' ? { binary: targetBinary(), symbol: 'tsbpf_target_add' } : { function: 'do_sys_openat2' };
    const refArgs = k === 'uprobe' ? [String(n), 'uprobe', OBJ, prog, targetBinary(), 'tsbpf_target_add'] : [String(n), 'kprobe', OBJ, prog, 'do_sys_openat2'];

    const c = t.Collection.load(t.loadCollectionSpec(OBJ), { programs: [prog] });
    const p = c.programs.get(prog)!;
    const libRounds: Array<{ median_us: number; attach_median_us: number; libbpf: string }> = [];
    const ourRounds: Array<{ total: number; attach: number }> = [];
    try {
      for (let r = 0; r < rounds; r++) {
        libRounds.push(JSON.parse(execFileSync(ref, ['--warm', String(warm), ...refArgs], { encoding: 'utf8' })));
        const samples: number[] = [], attachSamples: number[] = [];
        for (let i = -warm; i < n; i++) {
          const t0 = process.hrtime.bigint();
          const link = p.attach(target);
          const t1 = process.hrtime.bigint();
          link.close();
          const us = Number(process.hrtime.bigint() - t0) / 1000;
          if (i >= 0) { samples.push(us); attachSamples.push(Number(t1 - t0) / 1000); }
        }
        ourRounds.push({ total: median(samples), attach: median(attachSamples) });
      }
    } finally { c.close(); }
    const lib = { median_us: median(libRounds.map((x) => x.median_us)), attach_median_us: median(libRounds.map((x) => x.attach_median_us)), libbpf: libRounds[0]!.libbpf };
    const ours = median(ourRounds.map((x) => x.total)), oursAttach = median(ourRounds.map((x) => x.attach));
    rows.push({
      kind: k, tsbpfUs: ours, libbpfUs: lib.median_us, ratio: ours / lib.median_us,
      tsbpfAttachUs: oursAttach, libbpfAttachUs: lib.attach_median_us, attachRatio: oursAttach / lib.attach_median_us,
      how: `libbpf ${lib.libbpf}; tsbpf ${how}`,
    });
  }
  if (asJson) { console.log(JSON.stringify({ n, rounds, kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), rows }, null, 2)); return; }
  console.log(`attach + detach, median of ${rounds} rounds x ${n}, interleaved (kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}; ${rows[0]?.how})`);
  console.log(`${''.padEnd(8)} ${'attach + detach'.padStart(30)}   ${'attach alone'.padStart(30)}`);
  console.log(`${'probe'.padEnd(8)} ${'tsbpf us'.padStart(10)} ${'libbpf us'.padStart(10)} ${'ratio'.padStart(8)}   ${'tsbpf us'.padStart(10)} ${'libbpf us'.padStart(10)} ${'ratio'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.kind.padEnd(8)} ${r.tsbpfUs.toFixed(1).padStart(10)} ${r.libbpfUs.toFixed(1).padStart(10)} ${(r.ratio.toFixed(2) + 'x').padStart(8)}   ${r.tsbpfAttachUs.toFixed(1).padStart(10)} ${r.libbpfAttachUs.toFixed(1).padStart(10)} ${(r.attachRatio.toFixed(2) + 'x').padStart(8)}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
