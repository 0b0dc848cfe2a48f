import { TsbpfError, type ErrorContext } from '../errors.js';

/**
 * Why an event reader or writer refused or failed:
 *  - 'map-type': the map is not a perf event array / ring buffer (or user ring buffer);
 *  - 'closed': the reader was closed already (close() twice, read() after close());
 *  - 'type-unknown': the TYPE to decode records with is not in the BTF (or there is no BTF);
 *  - 'type-size': a record's size differs from the TYPE's;
 *  - 'options': an option out of range (pages not a power of two...);
 *  - 'kernel': a syscall failed (the SyscallError is the cause).
 */
export type EventsErrorReason = 'map-type' | 'closed' | 'type-unknown' | 'type-size' | 'options' | 'kernel';

/** An event reader (perf buffer, ring buffer, trace_pipe) or writer (user ring buffer) error. */
export class EventsError extends TsbpfError {
  override readonly reason: EventsErrorReason;
  constructor(detail: string, ctx: ErrorContext = {}, options: { cause?: unknown; reason?: EventsErrorReason } = {}) {
    super(detail, ctx, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? 'kernel';
  }
}
