/** Why a skeleton cannot be generated. */
import { TsbpfError, type ErrorContext } from '../errors.js';

export type GenErrorReason =
  /** The object has no .BTF section: nothing to type maps and variables with. */
  | 'no-btf'
  /** A --type name that is not in the object's BTF. */
  | 'type-unknown'
  /** A --type binding names a map that is not a perf event array or ring buffer of the object. */
  | 'event-map-unknown';

export class GenError extends TsbpfError {
  override readonly reason: GenErrorReason;
  constructor(detail: string, ctx: ErrorContext, reason: GenErrorReason) {
    super(detail, ctx);
    this.reason = reason;
  }
}
