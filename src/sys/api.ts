/**
 * The bpf(2) commands as typed functions, one per command: maps.ts (maps), progs.ts
 * (programs), objects.ts (BTF, pins, ids, object info); links.ts has the link commands.
 */
export * from './maps.js';
export * from './progs.js';
export * from './objects.js';
