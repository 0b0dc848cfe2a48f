export { RingbufConsumer, RingbufProducer, PerfConsumer, RingError, type RecordVisitor } from './ring.js';
