/**
 * `node bin/load.js [options] <object.o>...`: load, explain, pin and check BPF objects.
 * This module imports only the argument parser (and node:fs / node:path, which Node has
 * loaded already); the loader, the JUnit writer and the unpinning code are imported when
 * the run needs them (start-up time is budgeted). Builtins are imported statically: the
 * bundled CLI (boot.ts) runs as a script, where import() is not available.
 */
import { closeSync, readSync, writeFileSync } from 'node:fs';
import { FileReadError, openRegularFile } from '../file.js';
import { join } from 'node:path';
import { parseArgs, UsageError, USAGE, type CliOptions } from './args.js';
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
    const staticMod = await import('./static.js');
    const specs = staticMod.readSpecs(opts);
    // --attach PROG=TARGET: every TARGET checked before anything is loaded
    const attachMod = await attachP;
    const targets = attachMod ? specs.map((s) => attachMod.explicitTargets(s.programs, opts.attachTargets)) : [];
    const results: ObjectResult[] = [];
    const report = async () => {
      if (opts.json) console.log((await import('./report.js')).json(results));
      else {
        const { text } = await import('./report.js');
        console.log(results.map(text).join('\n\n'));
      }
    };
    if (opts.noLoad) {
      for (const s of specs) results.push(staticMod.staticResult(s, opts));
      await report();
    } else {
      const runMod = await runP!;
      const open: Array<import('./run.js').LoadedObject> = [];
      const attached: Array<import('./attach.js').ObjectLinks> = [];
      try {
        for (const s of specs) {
          const pinDir = opts.pin === undefined ? undefined : specs.length > 1 ? join(opts.pin, staticMod.objectStem(s.file)) : opts.pin;
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
            if (l.pinDir) attachMod.pinLinks(links, l.pinDir, l.result);
            else if (links.size) l.result.atExit.unshift(`${links.size} link(s) detached at exit (SIGINT, SIGTERM${opts.duration !== undefined ? `, or after ${opts.duration} s` : ''})`);
          }
        }
        await report();
        const failed = results.some((r) => r.attachError !== undefined);
        if (attachMod && !failed && attached.some((a) => a.links.size) && !(opts.pin !== undefined && opts.duration === undefined)) {
          const n = attached.reduce((k, a) => k + a.links.size, 0);
          const why = await attachMod.stayAttached(opts.duration, () => {
            process.stderr.write(`load: ${n} link(s) attached; ${opts.duration !== undefined ? `detaching in ${opts.duration} s` : 'detaching at SIGINT / SIGTERM'} (Ctrl-C)\n`);
          });
          process.stderr.write(`load: ${why}: ${opts.pin !== undefined ? 'exiting; the pinned links stay' : 'detaching and unloading'}\n`);
        }
      } finally {
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

export async function main(argv: string[]): Promise<number> {
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
