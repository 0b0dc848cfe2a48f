/**
 * The map an event reader or writer works on, given as a loaded BpfMap, a pin path on
 * bpffs, or an fd. The reader always holds a map file of its own (BPF_MAP_GET_FD_BY_ID or
 * BPF_OBJ_GET make a new one): the kernel drops the perf event array entries a map file
 * stored when that file is released, so the entries live exactly as long as the reader,
 * whatever happens to the caller's fd.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Btf } from '../btf/index.js';
import type { MapTypeName } from '../kernel/enums.js';
import { BpfMap } from '../load/index.js';
import { Fd, btfGetFdById, btfRaw, mapGetFdById, mapInfo, objGet, rawFd, type FdLike, type MapInfo } from '../sys/index.js';
import { EventsError } from './errors.js';

/** A map to read events from (or write to): a loaded map, a pin path, or an fd (with a name for messages). */
export type EventMapRef = BpfMap | string | { fd: FdLike; name?: string; btf?: Btf };

export interface OpenedMap {
  /** This reader's own map file. */
  fd: Fd;
  info: MapInfo;
  /** The map's name: the object's name for a BpfMap, the pin's file name, else the kernel's name. */
  name: string;
  /** The object's BTF when the map came from a loaded object (or was given one). */
  btf?: Btf;
}

/** Opens `ref` as a map of one of the `wanted` types; throws EventsError ('map-type') otherwise, holding nothing. */
export function openEventMap(ref: EventMapRef, wanted: readonly MapTypeName[], what: string): OpenedMap {
  let fd: Fd;
  let name: string | undefined;
  let btf: Btf | undefined;
  try {
    if (typeof ref === 'string') {
      fd = new Fd(objGet(ref), `pinned map ${ref}`);
      name = path.basename(ref);
    } else {
      fd = new Fd(mapGetFdById(mapInfo(ref.fd).id), `map of ${what}`);
      name = ref.name;
      btf = ref.btf;
    }
  } catch (e) {
    const label = typeof ref === 'string' ? ref : ref instanceof BpfMap ? `map '${ref.name}'` : `map fd ${describeFd(ref.fd)}`;
    throw new EventsError(`${what}: cannot open ${label}: ${(e as Error).message}`, { symbol: typeof ref === 'string' ? ref : name }, { cause: e, reason: 'kernel' });
  }
  try {
    const info = mapInfo(fd);
    name ||= info.name;
    if (!info.typeName || !wanted.includes(info.typeName)) {
      throw new EventsError(`map '${name}' (${info.typeName ?? `type ${info.type}`}) is not a ${wanted.join(' or ')} map: ${what} needs one`, { symbol: name }, { reason: 'map-type' });
    }
    return btf ? { fd, info, name, btf } : { fd, info, name };
  } catch (e) {
    fd.close();
    throw e;
  }
}

function describeFd(fd: FdLike): string {
  try { return String(rawFd(fd)); } catch { return '(closed)'; }
}

/** The BTF the kernel holds for a map (the object's BTF it was created with), or undefined. */
export function kernelMapBtf(info: MapInfo): Btf | undefined {
  if (!info.btfId) return undefined;
  const fd = new Fd(btfGetFdById(info.btfId), `BTF ${info.btfId} of map ${info.name}`);
  try { return Btf.parse(btfRaw(fd)); } finally { fd.close(); }
}

/** CPU numbers in a kernel cpu list ("0-3,5,7-8"), as in /sys/devices/system/cpu/online. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new EventsError(`cannot read the cpu list '${text.trim()}'`, {}, { reason: 'kernel' });
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** The online CPUs (a perf event cannot be opened on an offline one). */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}
