/**
 * bpf_printk output: lines of a tracefs trace_pipe, parsed.
 *
 * bpf_trace_printk() emits the `bpf_trace:bpf_trace_printk` trace event. By default the
 * reader makes a tracefs instance of its own (instances/tsbpf_<pid>_<n>), enables that event
 * in it and reads the instance's trace_pipe: it sees every bpf_printk of every program, and
 * takes nothing away from other readers of the global trace_pipe (reading a trace_pipe
 * consumes what it reads). `{ instance: false }` reads the global trace_pipe instead, as
 * `bpftool prog tracelog` does. tracefs is mounted first when it is missing (ensureTracefs).
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureTracefs, waitReady, type MountNotice, type Wait } from '../sys/index.js';
import { EventsError } from './errors.js';

/** One trace_pipe line: `<comm>-<pid> [<cpu>] <flags> <timestamp>: <event>: <message>`. */
export interface TraceLine {
  /** The task that was running (its name, as the kernel knows it; '<...>' when it did not keep it). */
  comm: string;
  /** Its thread id. */
  pid: number;
  /** Its process id, when the record-tgid option shows it. */
  tgid?: number;
  cpu: number;
  /** irqs-off / need-resched / hardirq-softirq / preempt-depth columns ('d..31'), when shown. */
  flags?: string;
  /** Seconds since boot (the trace clock). */
  timestamp: number;
  /** The trace event: 'bpf_trace_printk' for bpf_printk. */
  event: string;
  /** What the program printed. */
  message: string;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+\.\d+):\s+([^:\s]+):\s?(.*)$/;

/** Parses one trace_pipe line; undefined for a line of another shape (a '# ...' header, a lost-events note). */
export function parseTraceLine(line: string): TraceLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const out: TraceLine = { comm: m[1]!, pid: Number(m[2]), cpu: Number(m[4]), timestamp: Number(m[6]), event: m[7]!, message: m[8]! };
  if (m[3] !== undefined && /^\d+$/.test(m[3])) out.tgid = Number(m[3]);
  if (m[5] !== undefined) out.flags = m[5];
  return out;
}

export interface TracePipeOptions {
  /** Read a private tracefs instance (default) or, with false, the global trace_pipe. */
  instance?: boolean;
  /** Told when tracefs had to be mounted (default: one line on stderr). */
  notice?: MountNotice;
}

const EVENT = 'events/bpf_trace/bpf_trace_printk/enable';
/** When the pipe's poll cannot be trusted to wake on every line (global pipe, buffer_percent not 0): look again this often. */
const RECHECK_MS = 200;
let instances = 0;
/** Open readers: their instances are removed at exit if they were not closed. */
const live = new Set<TracePipe>();
let exitHook = false;

export class TracePipe implements AsyncIterable<TraceLine> {
  /** The tracefs directory read (the instance's, or tracefs itself). */
  readonly dir: string;
  #fd: number;
  #instance: boolean;
  #closed = false;
  #partial = '';
  #lines: TraceLine[] = [];
  #li = 0;
  #recheck: number | undefined;
  #wait: Wait | undefined;
  readonly #buf = Buffer.alloc(64 << 10);

  private constructor(dir: string, fd: number, instance: boolean, recheck: number | undefined) {
    this.dir = dir;
    this.#fd = fd;
    this.#instance = instance;
    this.#recheck = recheck;
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => { for (const t of live) t.cleanup(); });
    }
  }

  /** Opens the trace_pipe of a new private instance (or the global one), mounting tracefs when needed. */
  static open(opts: TracePipeOptions = {}): TracePipe {
    let root: string;
    try { root = ensureTracefs(opts.notice ? { notice: opts.notice } : {}); } catch (e) {
      throw new EventsError(`bpf_printk reader: ${(e as Error).message}`, {}, { cause: e, reason: 'kernel' });
    }
    if (opts.instance === false) {
      return new TracePipe(root, openPipe(root), false, RECHECK_MS);
    }
    const dir = path.join(root, 'instances', `tsbpf_${process.pid}_${++instances}`);
    try { mkdirSync(dir); } catch (e) {
      throw new EventsError(`bpf_printk reader: cannot make the tracefs instance ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {}, { cause: e, reason: 'kernel' });
    }
    try {
      if (!existsSync(path.join(dir, EVENT))) throw new EventsError(`bpf_printk reader: this kernel has no bpf_trace:bpf_trace_printk event (${path.join(dir, EVENT)}); read the global trace_pipe with { instance: false }`, {}, { reason: 'kernel' });
      writeFileSync(path.join(dir, EVENT), '1');
      // wake the reader on every line, not when the buffer is half full (buffer_percent, 5.1+)
      let recheck: number | undefined = RECHECK_MS;
      const pct = path.join(dir, 'buffer_percent');
      if (existsSync(pct)) { writeFileSync(pct, '0'); recheck = undefined; }
      return new TracePipe(dir, openPipe(dir), true, recheck);
    } catch (e) {
      removeInstance(dir);
      throw e instanceof EventsError ? e : new EventsError(`bpf_printk reader: setting up ${dir} failed: ${(e as Error).message}`, {}, { cause: e, reason: 'kernel' });
    }
  }

  get closed(): boolean { return this.#closed; }

  /** The lines there are now, without waiting. */
  drain(cb: (line: TraceLine) => void): number {
    this.#check();
    let n = 0;
    for (;;) {
      while (this.#li < this.#lines.length && !this.#closed) { cb(this.#lines[this.#li++]!); n++; }
      if (this.#closed || this.#fill() === 0) return n;
    }
  }

  /** The next line, waiting at most `timeoutMs` (none: until one comes); undefined on timeout or close. */
  async read(opts: { timeoutMs?: number } = {}): Promise<TraceLine | undefined> {
    this.#check();
    const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
    for (;;) {
      if (this.#li < this.#lines.length) return this.#lines[this.#li++];
      if (this.#closed) return undefined;
      if (this.#fill() > 0) continue;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return undefined;
      await this.#readable(left);
    }
  }

  /** `for await (const line of pipe)` until close() (leaving the loop early does not close). */
  [Symbol.asyncIterator](): AsyncIterator<TraceLine> {
    return {
      next: async () => {
        const line = this.#closed ? undefined : await this.read();
        return line === undefined ? { value: undefined, done: true } : { value: line, done: false };
      },
      return: async () => ({ value: undefined, done: true }),
    };
  }

  /** Closes the pipe and removes the instance. A second close() is an EventsError ('closed'). */
  close(): void {
    if (this.#closed) throw new EventsError(`bpf_printk reader of ${this.dir} is already closed`, {}, { reason: 'closed' });
    this.cleanup();
  }

  /** @internal close without the second-close check (process exit). */
  cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    this.#wait?.cancel();
    this.#wait = undefined;
    try { closeSync(this.#fd); } catch { /* gone */ }
    if (this.#instance) removeInstance(this.dir);
  }

  /** Reads what the pipe has now into whole lines; returns how many lines were added. */
  #fill(): number {
    this.#lines = this.#lines.slice(this.#li);
    this.#li = 0;
    const before = this.#lines.length;
    for (;;) {
      let n: number;
      try { n = readSync(this.#fd, this.#buf, 0, this.#buf.length, null); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
        if (code === 'EINTR') continue;
        throw new EventsError(`reading ${path.join(this.dir, 'trace_pipe')} failed: ${code ?? (e as Error).message}`, {}, { cause: e, reason: 'kernel' });
      }
      if (n <= 0) break;
      const text = this.#partial + this.#buf.toString('utf8', 0, n);
      const parts = text.split('\n');
      this.#partial = parts.pop()!;
      for (const p of parts) {
        const l = parseTraceLine(p);
        if (l) this.#lines.push(l);
      }
      if (n < this.#buf.length) break;
    }
    return this.#lines.length - before;
  }

  async #readable(timeoutMs: number | undefined): Promise<void> {
    const t = this.#recheck === undefined ? timeoutMs : Math.min(timeoutMs ?? Infinity, this.#recheck);
    const w = waitReady(this.#fd, t === undefined ? {} : { timeoutMs: t });
    this.#wait = w;
    try { await w.ready; } finally { if (this.#wait === w) this.#wait = undefined; }
  }

  #check(): void {
    if (this.#closed) throw new EventsError(`bpf_printk reader of ${this.dir} is closed`, {}, { reason: 'closed' });
  }
}

function openPipe(dir: string): number {
  const file = path.join(dir, 'trace_pipe');
  try { return openSync(file, constants.O_RDONLY | constants.O_NONBLOCK); } catch (e) {
    throw new EventsError(`bpf_printk reader: cannot open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {}, { cause: e, reason: 'kernel' });
  }
}

/** Turns the event off and removes the instance directory (tracefs removes its files with it). */
function removeInstance(dir: string): void {
  try { writeFileSync(path.join(dir, EVENT), '0'); } catch { /* not enabled */ }
  for (let i = 0; i < 3; i++) {
    try { rmdirSync(dir); return; } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
    }
  }
}
