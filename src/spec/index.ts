export { loadCollectionSpec, type LoadSpecOptions } from './collection.js';
export { setVariable, getVariable, findVariable, copySpec, type VariableValue } from './edit.js';
export { fixupCalls } from './calls.js';
export { sectionDef, attachTarget } from './sections.js';
export { structOpsAutoload, loadsByDefault, type StructOpsUse } from './struct-ops.js';
export * from './types.js';
export { parseUsdtNotes, parseUsdtArgs, UsdtError, USDT_NOTE_SECTION, USDT_MAX_ARG_COUNT, type UsdtNote, type UsdtArg, type UsdtArgKind, type UsdtErrorReason } from './usdt.js';
export { usdtSpecLayout, encodeUsdtSpec, type UsdtSpecLayout } from './usdt-layout.js';
