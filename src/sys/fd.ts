import { TsbpfError } from '../errors.js';
import { closeFd } from './syscall.js';

let debug = process.env.TSBPF_DEBUG_FDS === '1';
let leaked = 0;

/** Warn (console.warn) when the safety net closes an Fd nobody closed. Also TSBPF_DEBUG_FDS=1. */
export function setFdDebug(on: boolean): void {
  debug = on;
}

/** How many fds the safety net has closed so far. */
export function leakedFdCount(): number {
  return leaked;
}

interface Held { fd: number; label: string }

const registry = new FinalizationRegistry<Held>((h) => {
  leaked++;
  if (debug) console.warn(`tsbpf: fd ${h.fd} (${h.label}) was never closed; closed by the garbage collector`);
  try { closeFd(h.fd); } catch { /* already gone: nothing to do in a finalizer */ }
});

/**
 * An owned file descriptor: closed exactly once by `close()` (a second close is a
 * no-op); reading `value` after close throws. An Fd that becomes garbage without
 * being closed is closed by a FinalizationRegistry safety net (warns in debug mode).
 */
export class Fd {
  #value: number;
  /** What the fd refers to, for messages ('map counters', 'prog xdp_pass'). */
  readonly label: string;

  constructor(value: number, label = 'bpf object') {
    if (!Number.isInteger(value) || value < 0) throw new TsbpfError(`Fd: ${value} is not a file descriptor`);
    this.#value = value;
    this.label = label;
    registry.register(this, { fd: value, label }, this);
  }

  /** The raw fd; throws TsbpfError once closed. */
  get value(): number {
    if (this.#value < 0) throw new TsbpfError(`use of closed fd (${this.label})`);
    return this.#value;
  }

  get closed(): boolean {
    return this.#value < 0;
  }

  /** Close the fd; later calls do nothing. */
  close(): void {
    const fd = this.#value;
    if (fd < 0) return;
    this.#value = -1;
    registry.unregister(this);
    closeFd(fd);
  }

  /** Give up ownership: the caller now owns the raw fd (no close, no safety net). */
  release(): number {
    const fd = this.value;
    this.#value = -1;
    registry.unregister(this);
    return fd;
  }

  toString(): string {
    return this.#value < 0 ? `Fd(closed, ${this.label})` : `Fd(${this.#value}, ${this.label})`;
  }
}

/** A raw fd or an owned one. */
export type FdLike = number | Fd;

export function rawFd(fd: FdLike): number {
  return typeof fd === 'number' ? fd : fd.value;
}
