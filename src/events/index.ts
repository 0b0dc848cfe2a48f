export { RingbufConsumer, RingbufProducer, PerfConsumer, RecordBatch, RingError, DEFAULT_BATCH_RECORDS, type BatchRing, type RecordVisitor } from './ring.js';
export { EventReader, type EventRecord, type EventReaderOptions, type DrainOptions, type DrainBatchOptions, type EventBatch, type EventStats } from './reader.js';
export { EventsError, type EventsErrorReason } from './errors.js';
export type { EventMapRef } from './map-ref.js';
export type { PerfBufferOptions } from './perf-buffer.js';
export type { WalkerChoice } from './walk.js';
export { UserRingBuffer, type ReservedRecord } from './user-ring-buffer.js';
export { TracePipe, parseTraceLine, type TraceLine, type TracePipeOptions } from './trace.js';
