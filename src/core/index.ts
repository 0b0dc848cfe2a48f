/**
 * CO-RE (compile once, run everywhere): relocation of field offsets, sizes, existence,
 * type ids and enum values against the target kernel's BTF; kconfig / kallsyms values.
 * Pure: reads files (/sys/kernel/btf, /proc), makes no bpf() call.
 */
export { applyCoreRelocations, CORE_POISON_IMM } from './apply.js';
export type { CoreRelocationResult, CoreResult, CoreOptions } from './apply.js';
export { CoreError } from './errors.js';
export { kernelBtf, btfTarget, readBtfFile, KernelBtf, SingleBtfSource } from './target.js';
export type { TargetBtfSource, CoreCandidate, KernelBtfOptions } from './target.js';
export { essentialName, essentialNameLength } from './names.js';
export { CORE_RELO_KIND_NAMES, kindName } from './kinds.js';
export type { CoreReloKindName } from './kinds.js';
export { parseSpec, matchSpec, formatSpec, accessText } from './spec.js';
export type { CoreSpec, CoreAccessor } from './spec.js';
export { fieldsAreCompat, typesAreCompat, typesMatch } from './compat.js';
export { explainPoison } from './explain.js';
export { kconfigPaths, parseKconfig, kconfigValue, kconfigData, kcfgType, kernelVersionCode, kernelRelease, hasSyscallWrapper } from './kconfig.js';
export type { KconfigExtern, KconfigOptions } from './kconfig.js';
export { kallsymsAddress, kallsymsLookup } from './kallsyms.js';
