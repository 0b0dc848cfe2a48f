/**
 * The manifest `--pin DIR` leaves in DIR, so that `--unpin DIR` removes what tsbpf pinned
 * and nothing else (libbpf's bpf_object__unpin removes only the object's own pins).
 *
 * bpffs holds pins, directories and symlinks, but no regular files: the manifest is the
 * directory DIR/tsbpf-pins with one symlink per pin, pointing at the pin (a relative
 * link: `ls -l DIR/tsbpf-pins` shows them). Entries are named 0, 1, 2...
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../sys/mount.js';

/** No dot: bpffs refuses names with one. No program (a C identifier) can have this name. */
export const MANIFEST = 'tsbpf-pins';

/** A manifest that cannot be trusted (an entry that leaves DIR). */
export class ManifestError extends Error {}

/** Records that `pinned` (a path under `root`) was pinned by this run. */
export function recordPins(root: string, pinned: readonly string[]): void {
  if (!pinned.length) return;
  const dir = path.join(root, MANIFEST);
  makeDirs(dir);
  let next = Math.max(-1, ...readdirSync(dir).map(Number).filter(Number.isInteger)) + 1;
  for (const p of pinned) symlinkSync(path.relative(dir, p), path.join(dir, String(next++)));
}

/**
 * The pins the manifest in `root` lists, as absolute paths; undefined when there is no
 * manifest. An entry that is absolute or climbs out of `root` is a ManifestError.
 */
export function readManifest(root: string): string[] | undefined {
  const dir = path.resolve(root, MANIFEST);
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) return undefined;
  const out: string[] = [];
  for (const e of readdirSync(dir).sort((a, b) => Number(a) - Number(b))) {
    const rel = readlinkSync(path.join(dir, e));
    const at = path.resolve(dir, rel);
    if (path.isAbsolute(rel) || !at.startsWith(`${path.resolve(root)}/`) || at.startsWith(`${dir}/`) || at === dir) {
      throw new ManifestError(`entry ${e} (-> ${JSON.stringify(rel)}) is not a pin inside ${root}: the manifest was not written by tsbpf; nothing removed`);
    }
    out.push(at);
  }
  return out;
}

/** Removes the manifest of `root` (its entries, then its directory). */
export function removeManifest(root: string): void {
  const dir = path.join(root, MANIFEST);
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) unlinkSync(path.join(dir, e));
  rmdirSync(dir);
}
