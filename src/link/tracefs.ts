/**
 * tracefs: tracepoint ids (events/<category>/<name>/id), the legacy probe event files
 * (kprobe_events, uprobe_events) for kernels without the kprobe / uprobe PMU, and the list
 * of functions kprobes can hook (available_filter_functions). tracefs is mounted at
 * /sys/kernel/tracing when it is not there (src/sys/mount.ts).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { ensureTracefs } from '../sys/mount.js';
import { AttachError } from './errors.js';

/** The tracefs directory, mounted if needed. */
export function tracefs(): string {
  return ensureTracefs();
}

/** The id of a tracepoint `category/name`, or undefined when it does not exist. */
export function tracepointId(category: string, name: string): number | undefined {
  const file = `${tracefs()}/events/${category}/${name}/id`;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  const id = Number(text.trim());
  return Number.isInteger(id) ? id : undefined;
}

let counter = 0;

/** A name for a legacy probe event, unique to this process: tsbpf_<pid>_<n>_<what>. */
export function probeEventName(what: string): string {
  return `tsbpf_${process.pid}_${counter++}_${what.replace(/[^A-Za-z0-9_]/g, '_')}`.slice(0, 63);
}

export type ProbeEventKind = 'kprobe' | 'uprobe';

/** Whether tracefs has the legacy event file of a kind (kprobe_events needs CONFIG_KPROBE_EVENTS). */
export function hasProbeEvents(kind: ProbeEventKind): boolean {
  return existsSync(`${tracefs()}/${kind}_events`);
}

/**
 * Makes a legacy probe event: `p:kprobes/NAME FUNC+OFF`, `r:kprobes/NAME FUNC`,
 * `p:uprobes/NAME PATH:0xOFF`... in <kind>_events, and returns its tracepoint id. The
 * event is removed again when reading its id fails.
 */
export function addProbeEvent(kind: ProbeEventKind, name: string, retprobe: boolean, where: string): number {
  const group = `${kind}s`;
  const file = `${tracefs()}/${kind}_events`;
  try {
    appendFileSync(file, `${retprobe ? 'r' : 'p'}:${group}/${name} ${where}\n`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AttachError(`cannot add the ${kind} event ${where} in ${file}: ${code ?? (e as Error).message}${code === 'ENOENT' ? ' (no such function or file, or it cannot be probed)' : ''}`, {}, {
      reason: code === 'ENOENT' ? 'not-found' : code === 'EACCES' || code === 'EPERM' ? 'permission' : 'kernel', hook: kind, cause: e,
    });
  }
  const id = tracepointId(group, name);
  if (id === undefined) {
    removeProbeEvent(kind, name);
    throw new AttachError(`the ${kind} event ${group}/${name} (${where}) was added but has no id in tracefs`, {}, { reason: 'kernel', hook: kind });
  }
  return id;
}

/** Removes a legacy probe event; EBUSY (still in use by a pinned link) and ENOENT are left alone. */
export function removeProbeEvent(kind: ProbeEventKind, name: string): void {
  const file = `${tracefs()}/${kind}_events`;
  for (let attempt = 0; ; attempt++) {
    try { appendFileSync(file, `-:${kind}s/${name}\n`); return; } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // the perf event is released a moment after its last fd closes
      if (code === 'EBUSY' && attempt < 20) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); continue; }
      throw new AttachError(`cannot remove the ${kind} event ${kind}s/${name} from ${file}: ${code ?? (e as Error).message}`, {}, { reason: 'kernel', hook: kind, cause: e });
    }
  }
}

/** The functions kprobes can hook (available_filter_functions), without module suffixes. */
export function availableFilterFunctions(): string[] {
  const file = `${tracefs()}/available_filter_functions`;
  let text: string;
  try { text = readFileSync(file, 'latin1'); } catch (e) {
    throw new AttachError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (kernel without CONFIG_DYNAMIC_FTRACE?)`, {}, { reason: 'unsupported', hook: 'kprobe_multi', cause: e });
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    out.push(line.split(/\s/, 1)[0]!);
  }
  return out;
}
