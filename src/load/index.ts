export { Collection, type LoadOptions, type LoadStage } from './collection.js';
export { BpfMap, numPossibleCpus, type KeyLike, type MapValue } from './map.js';
export { MapArgumentError } from './map-codec.js';
export { Program, type TestRunOptions } from './program.js';
export { VerifierError, type LoadLogOptions, type Verdict } from './verifier.js';
export { features, hasBtfFeature, btfFeatures, forceMissingBtfFeatures, sanitizeBtf, BTF_FEATURES, hasProgramFeature, PROGRAM_FEATURES, type BtfFeature, type ProgramFeature } from './features.js';
export { decodeValue, encodeValue, type Value } from './values.js';
export { STRUCT_OPS_LINK_NOTE, type StructOpsState } from './struct-ops.js';
export type { AttachTarget, KernelRef } from './kernel-refs.js';
