export { parseElf } from './parse.js';
export { machineName } from './elfy-adapter.js';
export * from './types.js';
