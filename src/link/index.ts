import './methods.js';

export { Link } from './link.js';
export { attachProgram, type AttachOptions } from './attach.js';
export { attachTracing, attachRawTracepoint } from './tracing.js';
export { attachIter } from './iter.js';
export { attachStructOps } from './struct-ops.js';
