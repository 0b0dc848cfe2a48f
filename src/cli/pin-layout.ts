/**
 * Where `--pin DIR` puts an object's pins (bpftool's layout), for run.ts that pins and
 * unpin.ts that removes them: programs at BASE/<prog>, maps at BASE/maps/<kernel map name>
 * ('.' -> '_'), links at BASE/links/<prog>; BASE is DIR, or DIR/<object> with several
 * objects. Names come from the object: pathInDir refuses one that would leave its directory.
 */
import path from 'node:path';
import { pathInDir, pinName } from '../load/pin.js';
import { kernelMapName, objectName } from '../load/prepare.js';
import type { CollectionSpec, MapSpec } from '../spec/types.js';
import { objectStem } from './static.js';

/** BASE of `spec` when `count` objects are pinned under `dir`. */
export function objectPinDir(dir: string, spec: CollectionSpec, count: number): string {
  return count > 1 ? pathInDir(dir, objectStem(spec.file), 'object') : dir;
}

export function programPinPath(base: string, spec: CollectionSpec, name: string): string {
  return pathInDir(base, name, 'program', { file: spec.file, section: spec.programs.get(name)!.section });
}

export function mapPinPath(base: string, spec: CollectionSpec, m: MapSpec): string {
  return pathInDir(path.join(base, 'maps'), pinName(kernelMapName(objectName(spec.file), m)), 'map', { file: spec.file, symbol: m.name });
}
