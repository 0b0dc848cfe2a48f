/**
 * Names in generated code. C names are kept; a name TypeScript cannot take as a type
 * name, or one the module declares itself, is escaped, always the same way:
 *  - a TypeScript reserved word, strict-mode word or built-in type name (`type`,
 *    `number`, `Uint8Array`, ...) gets a trailing `_` (`type_`);
 *  - a name the module declares for the object (`<Object>Skeleton`, `<Object>Maps`, ...)
 *    or the namespace import `tsbpf` gets a trailing `_` too;
 *  - when two C types want the same name (`struct foo` and `typedef int foo`), the
 *    struct / union / enum keeps it and the typedef gets `_2` (`_3`, ... after that),
 *    in order of BTF id.
 * Property names (members, variables, maps, programs) are C identifiers and stay as they
 * are; one that is not an identifier (`func.____fmt`) is quoted.
 */

const RESERVED = new Set([
  // reserved words, strict-mode reserved words and contextual type keywords
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield', 'await',
  'any', 'as', 'asserts', 'async', 'bigint', 'boolean', 'declare', 'get', 'infer', 'is', 'keyof', 'module',
  'namespace', 'never', 'number', 'object', 'of', 'readonly', 'require', 'set', 'string', 'symbol', 'type',
  'undefined', 'unique', 'unknown', 'arguments', 'eval', 'satisfies', 'accessor', 'out', 'override', 'global',
  // built-in types the generated code uses
  'Array', 'Uint8Array', 'Buffer', 'Partial', 'Readonly', 'Record', 'URL', 'Promise', 'Symbol', 'Object',
  'BigInt', 'Number', 'String', 'Boolean', 'Error', 'Map', 'Set', 'Function',
]);

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `name` as a type name: reserved words and `taken` names get a trailing `_`. */
export function typeName(name: string, taken: ReadonlySet<string>): string {
  let n = IDENT.test(name) ? name : name.replace(/[^A-Za-z0-9_$]/g, '_').replace(/^(?=[0-9])/, '_');
  while (RESERVED.has(n) || taken.has(n)) n += '_';
  return n;
}

/** A property key: the name itself when it is an identifier, else a quoted string. */
export function propertyKey(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** A TypeScript string literal. */
export function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** PascalCase of the object's name: `global_data.bpf.o` -> `GlobalData`. */
export function objectTypeName(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const parts = stem.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const n = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join('') || 'Bpf';
  return /^[0-9]/.test(n) ? `Bpf${n}` : n;
}

/**
 * The skeleton's property for a data section: `.rodata` -> `rodata`, `.data.cfg` ->
 * `data_cfg`, `.bss` -> `bss`; characters that cannot be in an identifier become `_`.
 */
export function sectionProperty(section: string): string {
  const n = section.replace(/^\./, '').replace(/[^A-Za-z0-9_$]/g, '_');
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

/** Code-unit order of two names (not locale order: generated modules must not depend on the machine's locale). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
