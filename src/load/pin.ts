/**
 * Pins: a kernel object this process holds by one fd can be pinned on bpffs, and the
 * pin removed again. Shared by maps, programs and (in src/link) links.
 */
import { unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureBpffs, Fd, objPin } from '../sys/index.js';

/** Removes a pin (a file on bpffs); one already gone is fine. */
export function removePin(path: string | undefined): void {
  if (!path) return;
  try { unlinkSync(path); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
}

/**
 * Removes pins made by an operation that failed half-way (best effort: one that cannot be
 * removed does not stop the others, and the operation's own error is what the caller throws).
 */
export function removePins(paths: Iterable<string>): void {
  for (const p of paths) { try { removePin(p); } catch { /* not ours to fix: the caller is reporting its own failure */ } }
}

/** A kernel object this process holds by one fd, which can be pinned on bpffs. */
export abstract class Pinnable {
  /** Where it is pinned, if it is. */
  pinnedAt?: string;
  constructor(readonly fd: Fd) {}

  /** Pins at `path`; bpffs is mounted at /sys/fs/bpf first when the path is under it and it is not there. */
  pin(path: string): void {
    ensureBpffs(dirname(path));
    objPin(this.fd, path);
    this.pinnedAt = path;
  }

  unpin(): void {
    removePin(this.pinnedAt);
    delete this.pinnedAt;
  }
}
