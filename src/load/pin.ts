/**
 * Pins: a kernel object this process holds by one fd can be pinned on bpffs, and the
 * pin removed again. Shared by maps, programs and (in src/link) links.
 */
import { unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TsbpfError, type ErrorContext } from '../errors.js';
import { ensureBpffs, Fd, objPin } from '../sys/index.js';

/** libbpf's pin-path sanitising (sanitize_pin_path; bpftool pinmaps): '.' -> '_' (bpffs refuses dots in names). */
export function pinName(name: string): string {
  return name.replace(/\./g, '_');
}

/**
 * `dir/name` for a name that comes from an object (a program or map name: ELF symbol
 * names may hold any byte). Refused with a TsbpfError (reason 'unsafe-name') unless the
 * name is one file name that stays inside `dir`: no '/', no NUL, not '', '.' or '..'.
 * `what` names it in the error ("program", "map"). A `dir` holding a NUL is refused too
 * (reason 'nul-in-path', as src/sys refuses such a path at BPF_OBJ_PIN / GET), here before
 * anything is created.
 */
export function pathInDir(dir: string, name: string, what: string, ctx: ErrorContext = {}): string {
  if (dir.includes('\0')) throw new TsbpfError(`directory ${JSON.stringify(dir)} for ${what} '${name}' holds a NUL character: a path ends at its first NUL for the kernel`, { symbol: name, ...ctx }, { reason: 'nul-in-path' });
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new TsbpfError(`${what} name ${JSON.stringify(name)} cannot be a file name in ${dir}: it would leave the directory or is not a file name ('/', NUL, '.' and '..' are refused)`,
      { symbol: name, ...ctx }, { reason: 'unsafe-name' });
  }
  return join(dir, name);
}

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
