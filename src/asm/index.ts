export type { Instruction, Reference } from './types.js';
export * from './opcodes.js';
export { decode, decodeAt, instructionOffsets, encode, encodeAt, encodedSize, setImm64, rawOffsets, slotToIndex, indexAtByteOffset } from './codec.js';
export type { DecodeOptions } from './codec.js';
export { disassemble, disassembleProgram, helperName } from './disasm.js';
export type { DisassembleOptions } from './disasm.js';
export { HELPER_NAMES } from './helpers.js';
