/**
 * Names as CO-RE compares them. A "flavour" is a `___suffix`: `task_struct___old` is a
 * local stand-in for `task_struct`. The essential name is everything before the LAST
 * `X___Y` separator (X and Y not underscores), as libbpf's bpf_core_essential_name_len.
 */
import { essentialName, type BtfKindName } from '../btf/index.js';

export { essentialName, essentialNameLength } from '../btf/index.js';

/** Same essential name (libbpf's bpf_core_names_match, for two names). */
export function namesMatch(local: string, target: string): boolean {
  if (target === '') return local === '';
  return essentialName(local) === essentialName(target);
}

export const isEnumKind = (k: BtfKindName): boolean => k === 'enum' || k === 'enum64';
export const isComposite = (k: BtfKindName): boolean => k === 'struct' || k === 'union';

/** Kinds CO-RE treats as the same: equal, or enum vs enum64. */
export function kindsCompatible(a: BtfKindName, b: BtfKindName): boolean {
  return a === b || (isEnumKind(a) && isEnumKind(b));
}
