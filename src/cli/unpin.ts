/**
 * `--unpin DIR [objects]`: removes what `--pin DIR` pinned and nothing else, as libbpf's
 * bpf_object__unpin removes only the object's own pins:
 *   - DIR's manifest (written by --pin, see manifest.ts) lists the pins: those go;
 *   - without a manifest, the objects given say what --pin would have pinned there
 *     (DIR/<program>, DIR/maps/<map>, DIR/links/<program> with --attach; DIR/<object>/...
 *     for several objects);
 *   - with neither, nothing is removed: one line says why.
 * The directories of that layout go when they are left empty; a mount's root never.
 * With objects, their maps pinned by name (/sys/fs/bpf/<map>) go too.
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { pathInDir } from '../load/pin.js';
import type { CollectionSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import { isMountPoint, onBpffs } from '../sys/mount.js';
import { checkPinDir, EnvironmentError, PIN_ROOT } from './env.js';
import { MANIFEST, ManifestError, readManifest, removeManifest } from './manifest.js';
import { mapPinPath, objectPinDir, programPinPath } from './pin-layout.js';

/** Where `--pin dir` puts each object's programs and maps (run.ts's layout). */
function layout(dir: string, specs: CollectionSpec[]): { pins: string[]; dirs: string[] } {
  const pins: string[] = [], dirs: string[] = [];
  for (const s of specs) {
    const base = objectPinDir(dir, s, specs.length);
    const links = path.join(base, 'links');
    const linkPins = existsSync(links) ? readdirSync(links) : [];
    for (const p of s.programs.values()) {
      pins.push(programPinPath(base, s, p.name));
      // --attach --pin: DIR/links/<prog>, and DIR/links/<prog>.<n> for a program's several links
      for (const e of linkPins) if (e === p.name || e.startsWith(`${p.name}.`)) pins.push(pathInDir(links, e, 'link'));
    }
    for (const m of s.maps.values()) if (m.pinning !== PIN_BY_NAME) pins.push(mapPinPath(base, s, m));
    dirs.push(path.join(base, 'maps'), links, base);
  }
  return { pins, dirs: [...dirs, dir] };
}

/** A pin (not a directory, not a symlink) at `p`. */
function isPin(p: string): boolean {
  try { return lstatSync(p).isFile(); } catch { return false; }
}

/** Returns the lines to print. */
export function unpin(dir: string, specs: CollectionSpec[]): string[] {
  const out: string[] = [];
  const abs = path.resolve(dir);
  if (existsSync(abs)) {
    if (!onBpffs(abs)) throw new EnvironmentError(`--unpin ${dir}: not on a bpffs mount, so nothing tsbpf pinned is there`);
    checkPinDir(dir, '--unpin'); // refuses a mount's root
    let listed: string[] | undefined;
    try { listed = readManifest(abs); } catch (e) {
      if (e instanceof ManifestError) throw new EnvironmentError(`--unpin ${dir}: its manifest ${MANIFEST}: ${e.message}`);
      throw e;
    }
    if (!listed && !specs.length) {
      throw new EnvironmentError(`--unpin ${dir}: no manifest there (${MANIFEST}, written by --pin) and no object given, so tsbpf cannot tell its pins from others': name the object(s) pinned there (--unpin ${dir} prog.bpf.o)`);
    }
    const plan = layout(abs, specs);
    const targets = listed ?? plan.pins;
    let n = 0;
    for (const t of targets) if (isPin(t)) { unlinkSync(t); n++; }
    if (listed) removeManifest(abs);
    // deepest first, so that DIR/maps goes before DIR
    const dirs = [...new Set([...(listed ?? []).map((t) => path.dirname(t)), ...plan.dirs])].sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      if (!d.startsWith(`${abs}/`) && d !== abs) continue;
      try { if (!readdirSync(d).length && !isMountPoint(d)) rmdirSync(d); } catch { /* gone, or not empty */ }
    }
    const left = existsSync(abs) ? readdirSync(abs).length : 0;
    out.push(`unpinned ${n} object(s) under ${dir} (${listed ? 'listed in its manifest' : `the layout --pin writes for ${specs.map((s) => s.file).join(', ')}`})` +
      (left ? `; ${dir} stays: it holds ${left} entr${left === 1 ? 'y' : 'ies'} tsbpf did not pin` : ''));
  } else if (!specs.length) {
    throw new EnvironmentError(`--unpin ${dir}: nothing is pinned there`);
  }
  for (const s of specs) {
    for (const m of s.maps.values()) {
      if (m.pinning !== PIN_BY_NAME) continue;
      const pinPath = pathInDir(PIN_ROOT, m.name, 'map (pinned by name)', { file: s.file, symbol: m.name });
      if (!isPin(pinPath)) continue;
      unlinkSync(pinPath);
      out.push(`unpinned ${pinPath} (map '${m.name}' of ${s.file}, pinned by name)`);
    }
  }
  return out;
}
