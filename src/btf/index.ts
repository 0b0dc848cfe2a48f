/** BTF and .BTF.ext: lazy reader, mutation and encoder. */
export { Btf } from './btf.js';
export type { BtfParseOptions, BtfMemberRef } from './btf.js';
export { checkBtfExt, parseBtfExt } from './ext.js';
export type { BtfExtParseOptions } from './ext.js';
export { KIND_NAMES, KIND_NUMBERS } from './kinds.js';
export { essentialName, essentialNameLength } from './names.js';
export { btfArena } from './wasm-scan.js';
export * from './types.js';
