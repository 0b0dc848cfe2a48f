export { parseElf } from './parse.js';
export { machineName } from './section-table.js';
export * from './types.js';
