/**
 * `node bin/load.js [options] <object.o>...`: load, explain, pin and check BPF objects.
 * This module imports only the argument parser (and node:fs / node:path, which Node has
 * loaded already); the loader, the JUnit writer and the unpinning code are imported when
 * the run needs them (start-up time is budgeted). Builtins are imported statically: the
 * bundled CLI (boot.ts) runs as a script, where import() is not available.
 */
import { closeSync, readSync, writeFileSync } from 'node:fs';
import { FileReadError, openRegularFile } from '../file.js';
import { parseArgs, UsageError, USAGE, type CliOptions } from './args.js';
import { printLine } from './out.js';
import type { ObjectResult } from './result.js';

function fail(msg: string): number {
  process.stderr.write(`load: ${msg.split('\n').join(' ')}\n`);
  return 2;
}

async function run(opts: CliOptions): Promise<number> {
  const { EnvironmentError, checkPinDir } = await import('./env.js');
  try {
    if (opts.unpin !== undefined) {
      const [{ unpin }, specs] = await Promise.all([import('./unpin.js'), opts.files.length ? import('../spec/collection.js').then((m) => opts.files.map((f) => m.loadCollectionSpec(f))) : []]);
      for (const l of unpin(opts.unpin, specs)) console.log(l);
      return 0;
    }
    if (opts.features) {
      const { features, formatFeatures } = await import('../load/feature-table.js');
      const t = features();
      process.stdout.write(opts.json ? `${JSON.stringify(t, null, 2)}\n` : formatFeatures(t));
      return 0;
    }
    if (opts.kernels.length) {
      const k = await import('./kernels.js');
      // the objects must at least parse here: a VM boot for a file that is not BPF helps nobody
      (await import('./static.js')).readSpecs(opts);
      const runs = await k.runInKernels(opts);
      if (opts.json) console.log(JSON.stringify({ kernels: runs }, null, 2));
      else process.stdout.write(k.kernelTable(runs));
      if (opts.junit !== undefined) writeFileSync(opts.junit, k.junitByKernel(runs));
      return k.allAccepted(runs) ? 0 : 1;
    }
    if (opts.btf !== undefined) {
      const head = Buffer.alloc(4);
      try {
        const { fd } = openRegularFile(opts.btf);
        try { head.fill(0, readSync(fd, head, 0, 4, 0)); } finally { closeSync(fd); }
      } catch (e) {
        if (!(e instanceof FileReadError)) throw e;
        return fail(`--btf ${opts.btf}: cannot read it (${(e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.message})`);
      }
      const raw = head.length >= 2 && head.readUInt16LE(0) === 0xeb9f;
      const elf = head.length === 4 && head.readUInt32BE(0) === 0x7f454c46;
      if (!raw && !elf) return fail(`--btf ${opts.btf}: not a BTF file (raw BTF starts with magic 0xeb9f, e.g. /sys/kernel/btf/vmlinux) nor an ELF with .BTF`);
    }
    if (opts.pin !== undefined) checkPinDir(opts.pin, '--pin');
    const runP = opts.noLoad ? undefined : import('./run.js'); // fetched while the objects are read
    const attachP = opts.attach ? import('./attach.js') : undefined;
    const reading = opts.events.length > 0 || opts.trace;
    const eventsP = reading ? import('./events.js') : undefined;
    const staticMod = await import('./static.js');
    const specs = staticMod.readSpecs(opts);
    // --attach PROG=TARGET: every TARGET checked before anything is loaded
    const attachMod = await attachP;
    const targets = attachMod ? specs.map((s) => attachMod.explicitTargets(s.programs, opts.attachTargets)) : [];
    const results: ObjectResult[] = [];
    const report = async () => {
      if (opts.json) {
        const j = (await import('./report.js')).json(results);
        // with --events / --trace the output is JSON lines: the report is the first line
        printLine(reading ? JSON.stringify(JSON.parse(j)) : j);
      }
      else {
        const { text } = await import('./report.js');
        printLine(results.map(text).join('\n\n'));
      }
    };
    if (opts.noLoad) {
      for (const s of specs) results.push(staticMod.staticResult(s, opts));
      await report();
    } else {
      const runMod = await runP!;
      const { objectPinDir } = await import('./pin-layout.js');
      const open: Array<import('./run.js').LoadedObject> = [];
      const attached: Array<import('./attach.js').ObjectLinks> = [];
      let stream: import('./events.js').EventStream | undefined;
      try {
        for (const s of specs) {
          const pinDir = opts.pin === undefined ? undefined : objectPinDir(opts.pin, s, specs.length);
          const l = runMod.loadObject(s, opts, pinDir);
          open.push(l);
          results.push(l.result);
        }
        if (attachMod) {
          for (const [i, l] of open.entries()) {
            if (!l.collection) continue;
            const links = attachMod.attachObject(l.collection, l.result, targets[i]!);
            if (!links) continue;
            attached.push({ links, pinned: l.pinDir !== undefined });
            if (l.pinDir) attachMod.pinLinks(links, l.pinDir, l.result, opts.pin);
            else if (links.size) l.result.atExit.unshift(`${links.size} link(s) detached at exit (SIGINT, SIGTERM${opts.count !== undefined ? `, ${opts.count} record(s) read` : ''}${opts.duration !== undefined ? `, or after ${opts.duration} s` : ''})`);
          }
        }
        const failed = results.some((r) => r.attachError !== undefined);
        const loaded = open.every((l) => l.collection !== undefined);
        // --events / --trace: readers opened (a bad MAP or TYPE refused) before the report
        const eventsMod = await eventsP;
        if (eventsMod && loaded && !failed) stream = eventsMod.EventStream.open(open.map((l) => l.collection!), opts.events, opts.trace);
        await report();
        if (stream) {
          const why = await readEvents(stream, opts, eventsMod!);
          process.stderr.write(`load: ${why}: ${opts.pin !== undefined ? 'exiting; what is pinned stays' : attached.some((a) => a.links.size) ? 'detaching and unloading' : 'unloading'}\n`);
        } else if (eventsMod) {
          process.stderr.write(`load: --events / --trace: nothing read (${failed ? 'an attach failed' : 'an object did not load'})\n`);
        } else if (attachMod && !failed && attached.some((a) => a.links.size) && !(opts.pin !== undefined && opts.duration === undefined)) {
          const n = attached.reduce((k, a) => k + a.links.size, 0);
          const why = await attachMod.stayAttached(opts.duration, () => {
            process.stderr.write(`load: ${n} link(s) attached; ${opts.duration !== undefined ? `detaching in ${opts.duration} s` : 'detaching at SIGINT / SIGTERM'} (Ctrl-C)\n`);
          });
          process.stderr.write(`load: ${why}: ${opts.pin !== undefined ? 'exiting; the pinned links stay' : 'detaching and unloading'}\n`);
        }
      } finally {
        if (stream && !stream.closed) stream.close();
        for (const a of attached) attachMod!.releaseLinks(a);
        for (const l of open) l.close();
      }
    }
    if (opts.junit !== undefined) {
      const { junit } = await import('./junit.js');
      writeFileSync(opts.junit, junit(results));
    }
    const bad = results.some((o) => o.error !== undefined || o.attachError !== undefined || o.programs.some((p) => p.verdict === 'rejected'));
    return bad ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof EnvironmentError) return fail(e.message);
    const { TsbpfError } = await import('../errors.js');
    if (e instanceof TsbpfError) return fail(e.message);
    throw e;
  }
}

/**
 * Prints records (and trace lines) until --count, --duration, SIGINT or SIGTERM, then a
 * line per map with the records read and lost. Returns why it stopped.
 */
async function readEvents(stream: import('./events.js').EventStream, opts: CliOptions, mod: typeof import('./events.js')): Promise<string> {
  const ac = new AbortController();
  let why = opts.count !== undefined ? `${opts.count} record(s) read` : 'the readers ended';
  const stop = (reason: string) => { if (!ac.signal.aborted) { why = reason; ac.abort(); } };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  const onOut = (e: NodeJS.ErrnoException) => stop(e.code === 'EPIPE' ? 'standard output closed' : `standard output: ${e.message}`);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.stdout.on('error', onOut);
  const timer = opts.duration !== undefined ? setTimeout(() => stop(`${opts.duration} s`), opts.duration * 1000) : undefined;
  try {
    process.stderr.write(`load: reading ${opts.events.length ? 'events' : ''}${opts.events.length && opts.trace ? ' and ' : ''}${opts.trace ? 'bpf_printk lines' : ''}${opts.count !== undefined ? ` until ${opts.count} arrive` : ''}; stop with SIGINT / SIGTERM${opts.duration !== undefined ? ` or after ${opts.duration} s` : ''} (Ctrl-C)\n`);
    await stream.run({ ...(opts.count !== undefined ? { count: opts.count } : {}), json: opts.json, signal: ac.signal, write: (l) => { process.stdout.write(`${l}\n`); } });
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const stats = mod.formatStats(stream.close(), opts.json);
  if (!process.stdout.writableEnded && !process.stdout.destroyed) for (const l of stats) process.stdout.write(`${l}\n`);
  else process.stderr.write(`load: ${stats.join('; ')}\n`);
  return why;
}

export async function main(argv: string[]): Promise<number> {
  const gen = argv.indexOf('--gen');
  if (gen >= 0 && !argv.slice(0, gen).includes('--')) return (await import('./gen.js')).genMain([...argv.slice(0, gen), ...argv.slice(gen + 1)]);
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return fail(`${e.message}`);
    throw e;
  }
  if (opts.help) { console.log(USAGE); return 0; }
  return run(opts);
}
