/**
 * Links: what keeps a program attached. `BpfLink` is a BPF link fd (BPF_LINK_CREATE,
 * BPF_RAW_TRACEPOINT_OPEN): close() detaches unless it is pinned, pin() keeps it after the
 * process exits, info() is the kernel's view, update() swaps the program where the kernel
 * allows. Hooks without a BPF link on this kernel have their own Link kinds (perf-event.ts,
 * tc-netlink.ts, sockmap.ts, ...) that detach on close() and explain what they cannot do.
 */
import { readSync } from 'node:fs';
import { TsbpfError } from '../errors.js';
import { removePin } from '../load/pin.js';
import type { Program } from '../load/program.js';
import { Fd, iterCreate, linkInfo, linkUpdate, objPin, SyscallError, type LinkInfo } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';

/** The kind of hook a link attaches to. */
export type HookName =
  | 'kprobe' | 'kretprobe' | 'kprobe_multi' | 'kretprobe_multi' | 'uprobe' | 'uretprobe' | 'uprobe_multi' | 'uretprobe_multi'
  | 'tracepoint' | 'raw_tracepoint' | 'perf_event' | 'xdp' | 'tcx' | 'tc' | 'cgroup' | 'netns' | 'sockmap'
  | 'tracing' | 'iter' | 'struct_ops' | 'usdt';

/** What a link attaches, to what. */
export interface LinkTarget {
  /** The program's name (or the struct_ops map's). */
  program: string;
  hook: HookName;
  /** Where, for people: 'do_unlinkat+0x4', '/bin/bash:readline', 'veth0 ingress'. */
  target: string;
}

export abstract class Link {
  readonly program: string;
  readonly hook: HookName;
  readonly target: string;
  /** Where it is pinned, if it is. */
  pinnedAt?: string;

  constructor(t: LinkTarget) {
    this.program = t.program;
    this.hook = t.hook;
    this.target = t.target;
  }

  /** 'prog -> kprobe do_unlinkat' */
  get description(): string { return `${this.program} -> ${this.hook} ${this.target}`; }

  abstract get closed(): boolean;

  /** Detaches (a pinned BPF link stays attached until its pin is removed). Later calls do nothing. */
  abstract close(): void;

  /** An error for what this kind of link cannot do. */
  protected cannot(what: string, why: string): AttachError {
    return new AttachError(`${what} of ${this.description}: ${why}`, { symbol: this.program }, { reason: 'not-supported-by-link', hook: this.hook });
  }

  /** Keeps the link after this process exits (BPF links only). */
  pin(_path: string): void { throw this.cannot('pin', 'only BPF links can be pinned'); }

  unpin(): void {
    removePin(this.pinnedAt);
    delete this.pinnedAt;
  }

  /** The kernel's view of the link (BPF links only). */
  info(): LinkInfo { throw this.cannot('info', 'the kernel has no BPF link for it'); }

  /** Runs `program` instead, without a gap (BPF_LINK_UPDATE; XDP, cgroup, netns, tcx, ... links). */
  update(_program: Program): void { throw this.cannot('update', 'the kernel has no BPF link for it to update'); }

  /** Iterator links: runs the iterator once and returns what the program wrote. */
  readIter(): Buffer { throw this.cannot('readIter', 'not an iterator link'); }
}

/**
 * A link held by an fd, plus what else it holds (a perf event fd, a tracefs event) to
 * release after it: close() runs `detach()`, closes the fd, then the release steps.
 */
export abstract class FdLink extends Link {
  readonly fd: Fd;
  readonly #release: Array<() => void>;

  constructor(fd: Fd, t: LinkTarget, release: Array<() => void> = []) {
    super(t);
    this.fd = fd;
    this.#release = release;
  }

  get closed(): boolean { return this.fd.closed; }

  /** What to do before the fd is closed (nothing for a BPF link). */
  protected detach(): void {}

  close(): void {
    if (this.fd.closed) return;
    this.detach();
    this.fd.close();
    releaseAll(this.#release);
  }
}

/** A BPF link fd (BPF_LINK_CREATE, BPF_RAW_TRACEPOINT_OPEN). */
export class BpfLink extends FdLink {
  override pin(path: string): void {
    try { objPin(this.fd, path); } catch (e) { throw TsbpfError.wrap(e, { symbol: this.program }); }
    this.pinnedAt = path;
  }

  override info(): LinkInfo { return linkInfo(this.fd); }

  override update(program: Program): void {
    try { linkUpdate(this.fd, program.fd); } catch (e) {
      if (e instanceof SyscallError && (e.code === 'EOPNOTSUPP' || e.code === 'ENOTSUPP')) {
        throw new AttachError(`update of ${this.description} to '${program.name}': the kernel cannot update ${this.hook} links (BPF_LINK_UPDATE ${e.code}); close the link and attach '${program.name}' instead`, { symbol: program.name }, { reason: 'not-supported-by-link', hook: this.hook, cause: e });
      }
      throw kernelRefusal(`update of ${this.description} to '${program.name}' (BPF_LINK_UPDATE)`, e, { symbol: program.name }, this.hook);
    }
  }

  override readIter(): Buffer {
    if (this.hook !== 'iter') return super.readIter();
    let fd: number;
    try { fd = iterCreate(this.fd); } catch (e) { throw TsbpfError.wrap(e, { symbol: this.description }); }
    const iter = new Fd(fd, `iterator of ${this.description}`);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 << 10);
      for (;;) {
        let n: number;
        try { n = readSync(iter.value, buf, 0, buf.length, null); } catch (e) {
          throw new TsbpfError(`reading the iterator of ${this.description} failed: ${(e as Error).message}`, { symbol: this.description }, { cause: e });
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally { iter.close(); }
  }
}

/** Runs every release step, then throws the first error. */
export function releaseAll(steps: ReadonlyArray<() => void>): void {
  let first: unknown;
  for (const s of steps) { try { s(); } catch (e) { first ??= e; } }
  if (first !== undefined) throw first;
}

/** Several links made as one (a perf_event program on every CPU, a USDT probe's sites). close() closes them all. */
export class MultiLink extends Link {
  readonly links: readonly Link[];
  readonly #release: Array<() => void>;
  #closed = false;

  /** `release`: what the attach set up besides the links (map entries), undone once by close() after them. */
  constructor(links: readonly Link[], t: LinkTarget, release: Array<() => void> = []) {
    super(t);
    this.links = links;
    this.#release = release;
  }

  get closed(): boolean { return this.#closed || this.links.every((l) => l.closed); }

  override pin(_path: string): void { throw this.cannot('pin', `it is ${this.links.length} links: pin each of link.links`); }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseAll([...this.links.map((l) => () => l.close()), ...this.#release]);
  }
}
