/**
 * Pure parsing of the two event rings, over typed arrays: the readers hand in views of the
 * kernel's mappings, the unit tests plain ArrayBuffers. No syscalls here.
 *
 *  - batch.ts: RecordBatch (offsets and lengths of a run of records in typed arrays, one
 *    call per batch), and the per-record walk on top of it;
 *  - ringbuf.ts: RingbufConsumer (BPF_MAP_TYPE_RINGBUF) and RingbufProducer
 *    (BPF_MAP_TYPE_USER_RINGBUF);
 *  - perf-ring.ts: PerfConsumer, one CPU's perf buffer.
 */
export { RecordBatch, RingError, DEFAULT_BATCH_RECORDS, type BatchRing, type RecordVisitor } from './batch.js';
export { RingbufConsumer, RingbufProducer } from './ringbuf.js';
export { PerfConsumer } from './perf-ring.js';
