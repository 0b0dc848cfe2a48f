/**
 * What a generated skeleton (tsbpf-gen, src/gen) uses at run time: the object's spec
 * from embedded bytes or a path next to the module, typed members of a Collection,
 * typed global data views and event readers. Sits above load and events.
 */
import { fileURLToPath } from 'node:url';
import { TsbpfError } from '../errors.js';
import type { Collection } from '../load/collection.js';
import { loadCollectionSpec } from '../spec/collection.js';
import type { CollectionSpec } from '../spec/types.js';

export { GlobalData, ReadonlyGlobalData, GlobalDataError } from './global-data.js';
export { SkeletonEvents, TypedEventReader } from './events.js';

/** Where a skeleton's object is: embedded bytes, or a path relative to the module (`base`: its import.meta.url). */
export type SkeletonObject = { name: string; base64: string } | { name: string; path: string };

/** The object's CollectionSpec, parsed afresh. */
export function skeletonSpec(object: SkeletonObject, base?: string): CollectionSpec {
  if ('base64' in object) return loadCollectionSpec(Buffer.from(object.base64, 'base64'), { file: object.name });
  if (base === undefined) return loadCollectionSpec(object.path);
  return loadCollectionSpec(fileURLToPath(new URL(object.path, base)));
}

/**
 * An object with one getter per name, answering the loaded map or program; one that was
 * not created or loaded (LoadOptions.programs, `SEC("?...")`, autocreate) throws a
 * TsbpfError naming it when used.
 */
export function skeletonMembers(collection: Collection, kind: 'map' | 'program', names: readonly string[]): object {
  const from: Map<string, unknown> = kind === 'map' ? collection.maps : collection.programs;
  const out = {};
  for (const name of names) {
    Object.defineProperty(out, name, {
      enumerable: true,
      get() {
        const v = from.get(name);
        if (v === undefined) throw new TsbpfError(`${kind} '${name}' was not ${kind === 'map' ? 'created' : 'loaded'} (see LoadOptions.${kind === 'map' ? 'autocreate' : 'programs'})`, { file: collection.spec.file, symbol: name });
        return v;
      },
    });
  }
  return out;
}
