/**
 * Type relations of CO-RE (libbpf relo_core.c): fields compatible (field relocations),
 * types compatible (TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET) and types matching
 * (TYPE_MATCHES, the stricter relation). All return booleans; malformed BTF throws.
 */
import type { Btf, BtfType } from '../btf/index.js';
import { TypeWalk } from '../btf/walk.js';
import { CoreError } from './errors.js';
import { essentialName, isComposite, isEnumKind, kindsCompatible, namesMatch } from './names.js';

const MAX_DEPTH = 32;

function tooDeep(id: number): CoreError {
  return new CoreError(`type nesting deeper than ${MAX_DEPTH} levels while comparing types`, { typeId: id });
}

/**
 * Memo and cycle guard of one top-level comparison: pairs of (local, target) ids already
 * answered, and the pairs open on the current path. Types that contain themselves (only
 * damaged BTF can) are a BtfError instead of an exponential walk.
 */
interface Walk { memo: Map<string, boolean>; guard: TypeWalk<string> }

function newWalk(what: string): Walk {
  return { memo: new Map(), guard: new TypeWalk<string>(what, undefined, (k) => Number(k.split(':')[0])) };
}

/** `compare` for one pair, once per pair (memoised), with the pair open while it runs. */
function pairOnce(w: Walk, key: string, compare: () => boolean): boolean {
  const known = w.memo.get(key);
  if (known !== undefined) return known;
  const r = w.guard.within(key, compare);
  w.memo.set(key, r);
  return r;
}

/** Named types whose essential names agree, or one side anonymous. */
function flavourlessNamesAgree(a: string, b: string): boolean {
  const la = essentialName(a), lb = essentialName(b);
  return la === '' || lb === '' || la === lb;
}

/** bpf_core_fields_are_compat: may a local field of type `localId` be read as a target field of type `targId`? */
export function fieldsAreCompat(local: Btf, localId: number, target: Btf, targId: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const lt = local.resolveType(localId), tt = target.resolveType(targId);
    if (isComposite(lt.kind) && isComposite(tt.kind)) return true;
    if (!kindsCompatible(lt.kind, tt.kind)) return false;
    switch (lt.kind) {
      case 'ptr': case 'float': return true;
      case 'fwd': case 'enum': case 'enum64': return flavourlessNamesAgree(lt.name, tt.name);
      case 'int': return lt.bitOffset === 0 && (tt as BtfType & { kind: 'int' }).bitOffset === 0;
      case 'array':
        localId = lt.type;
        targId = (tt as BtfType & { kind: 'array' }).type;
        continue;
      default: return false;
    }
  }
  throw tooDeep(localId);
}

/** bpf_core_types_are_compat. */
export function typesAreCompat(local: Btf, localId: number, target: Btf, targId: number, level = MAX_DEPTH, w: Walk = newWalk('CO-RE types compatibility')): boolean {
  if (!kindsCompatible(local.kindOf(localId), target.kindOf(targId))) return false;
  for (let depth = 0; ; depth++) {
    if (depth >= MAX_DEPTH) throw tooDeep(localId);
    const lt = local.resolveType(localId), tt = target.resolveType(targId);
    if (!kindsCompatible(lt.kind, tt.kind)) return false;
    switch (lt.kind) {
      case 'void': case 'struct': case 'union': case 'enum': case 'enum64': case 'fwd': return true;
      case 'int': return lt.bitOffset === 0 && (tt as BtfType & { kind: 'int' }).bitOffset === 0;
      case 'ptr':
        localId = lt.type; targId = (tt as BtfType & { kind: 'ptr' }).type;
        continue;
      case 'array':
        localId = lt.type; targId = (tt as BtfType & { kind: 'array' }).type;
        continue;
      case 'func_proto': {
        const tp = tt as BtfType & { kind: 'func_proto' };
        if (lt.params.length !== tp.params.length) return false;
        if (level <= 0) throw tooDeep(localId);
        for (let i = 0; i < lt.params.length; i++) {
          const lp = local.resolve(lt.params[i]!.type), tpp = target.resolve(tp.params[i]!.type);
          if (!pairOnce(w, `${lp}:${tpp}`, () => typesAreCompat(local, lp, target, tpp, level - 1, w))) return false;
        }
        localId = lt.type; targId = tp.type;
        continue;
      }
      default: return false;
    }
  }
}

/** bpf_core_types_match (TYPE_MATCHES). */
export function typesMatch(local: Btf, localId: number, target: Btf, targId: number, behindPtr = false, level = MAX_DEPTH, w: Walk = newWalk('CO-RE types match')): boolean {
  if (level <= 0) throw tooDeep(localId);
  for (let depth = 0; ; depth++) {
    if (depth >= MAX_DEPTH) throw tooDeep(localId);
    const lt = local.resolveType(localId), tt = target.resolveType(targId);
    if (!namesMatch(lt.name, tt.name)) return false;
    switch (lt.kind) {
      case 'void': return tt.kind === 'void';
      case 'fwd':
        if (behindPtr) {
          if (tt.kind === 'fwd') return lt.union === tt.union;
          return (tt.kind === 'struct' && !lt.union) || (tt.kind === 'union' && lt.union);
        }
        return tt.kind === 'fwd' && lt.union === tt.union;
      case 'enum': case 'enum64':
        if (!isEnumKind(tt.kind)) return false;
        return enumsMatch(lt, tt as BtfType & { kind: 'enum' | 'enum64' });
      case 'struct': case 'union':
        if (behindPtr) {
          if (lt.kind === tt.kind) return true;
          if (tt.kind !== 'fwd') return false;
          return (lt.kind === 'union') === tt.union;
        }
        if (lt.kind !== tt.kind) return false;
        return compositesMatch(local, lt, target, tt as BtfType & { kind: 'struct' | 'union' }, behindPtr, level, w);
      case 'int': {
        if (tt.kind !== 'int') return false;
        return lt.size === tt.size && (lt.encoding & 1) === (tt.encoding & 1);
      }
      case 'ptr':
        if (tt.kind !== 'ptr') return false;
        behindPtr = true;
        localId = lt.type; targId = tt.type;
        continue;
      case 'array':
        if (tt.kind !== 'array' || lt.nelems !== tt.nelems) return false;
        localId = lt.type; targId = tt.type;
        continue;
      case 'func_proto': {
        if (tt.kind !== 'func_proto' || lt.params.length !== tt.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          const lp = lt.params[i]!.type, tp = tt.params[i]!.type;
          if (!pairOnce(w, `${lp}:${tp}:${behindPtr}`, () => typesMatch(local, lp, target, tp, behindPtr, level - 1, w))) return false;
        }
        localId = lt.type; targId = tt.type;
        continue;
      }
      default: return false;
    }
  }
}

function enumsMatch(lt: BtfType & { kind: 'enum' | 'enum64' }, tt: BtfType & { kind: 'enum' | 'enum64' }): boolean {
  if (lt.size !== tt.size || lt.values.length > tt.values.length) return false;
  return lt.values.every((lv) => tt.values.some((tv) => namesMatch(lv.name, tv.name)));
}

function compositesMatch(
  local: Btf, lt: BtfType & { kind: 'struct' | 'union' }, target: Btf, tt: BtfType & { kind: 'struct' | 'union' },
  behindPtr: boolean, level: number, w: Walk,
): boolean {
  if (lt.members.length > tt.members.length) return false;
  for (const lm of lt.members) {
    let matched = false;
    for (const tm of tt.members) {
      if (!namesMatch(lm.name, tm.name)) continue;
      if (pairOnce(w, `${lm.type}:${tm.type}:${behindPtr}`, () => typesMatch(local, lm.type, target, tm.type, behindPtr, level - 1, w))) { matched = true; break; }
    }
    if (!matched) return false;
  }
  return true;
}
