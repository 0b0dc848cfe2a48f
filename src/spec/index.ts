export { loadCollectionSpec, type LoadSpecOptions } from './collection.js';
export { setVariable, getVariable, findVariable, copySpec, type VariableValue } from './edit.js';
export { fixupCalls } from './calls.js';
export { sectionDef, attachTarget } from './sections.js';
export { structOpsAutoload, loadsByDefault, type StructOpsUse } from './struct-ops.js';
export * from './types.js';
