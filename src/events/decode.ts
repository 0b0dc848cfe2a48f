/**
 * Records decoded through BTF: `'struct event'` (or `'union x'`, `'enum x'`, a typedef's
 * name, or a type id) names the type, decodeValue turns the bytes into JS data (char arrays
 * become strings, as for map values).
 */
import type { Btf } from '../btf/index.js';
import { findType } from '../btf/c-name.js';
import { decodeValue, type Value } from '../load/index.js';
import { EventsError } from './errors.js';

/** How records of one map are decoded. */
export interface RecordDecoder {
  /** The type as given ('struct event' or '#12'). */
  readonly type: string;
  readonly typeId: number;
  readonly size: number;
  /** Decodes `length` bytes at `start`; throws EventsError ('type-size') when the size does not fit. */
  decode(bytes: Uint8Array, start: number, length: number): Value;
}

/**
 * The decoder for `type` in `btf`. `padded`: records may carry up to 7 bytes past the type
 * (perf buffers pad raw samples so that records stay 8-aligned).
 */
export function recordDecoder(btf: Btf | undefined, type: string | number, map: string, padded: boolean): RecordDecoder {
  const ctx = { symbol: map };
  const shown = typeof type === 'number' ? `type id ${type}` : `'${type}'`;
  if (!btf) throw new EventsError(`map '${map}': cannot decode records as ${shown}: the map comes with no BTF (pass the object's btf)`, ctx, { reason: 'type-unknown' });
  const id = findType(btf, type);
  if (id === undefined) {
    throw new EventsError(`map '${map}': no ${typeof type === 'number' ? shown : `type ${shown}`} in the object's BTF${typeof type === 'string' ? suggestion(btf, type) : ''}`, ctx, { reason: 'type-unknown' });
  }
  const t = btf.typeById(btf.resolve(id));
  if (!['struct', 'union', 'int', 'enum', 'enum64', 'array', 'float', 'ptr'].includes(t.kind)) {
    throw new EventsError(`map '${map}': ${shown} is a ${t.kind}, not a type records can have`, { ...ctx, typeId: id }, { reason: 'type-unknown' });
  }
  const size = btf.sizeof(id);
  const label = typeof type === 'number' ? `#${type}` : type;
  return {
    type: label,
    typeId: id,
    size,
    decode(bytes, start, length) {
      if (length < size || length > size + (padded ? 7 : 0)) {
        throw new EventsError(`map '${map}': a record of ${length} bytes cannot be a ${label} (${size} bytes${padded ? ', perf records may carry up to 7 bytes of padding' : ''})`, { ...ctx, typeId: id }, { reason: 'type-size' });
      }
      return decodeValue(btf, id, bytes.subarray(start, start + size));
    },
  };
}

function suggestion(btf: Btf, type: string): string {
  const name = type.trim().split(/\s+/).pop()!;
  const ids = btf.idsByName(name);
  if (ids.length) return ` (there is a ${btf.kindOf(ids[0]!)} called '${name}')`;
  return '';
}
