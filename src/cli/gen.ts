/**
 * `tsbpf-gen prog.bpf.o [-o prog.skel.ts] [--type 'struct event' ...] [--embed]` (also
 * `node bin/load.js --gen ...`): writes the typed skeleton module of an object (src/gen).
 * Reads the object and writes one file; no privileges, no syscalls beyond that.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs as parseArgv } from 'node:util';

export const GEN_USAGE = `usage: tsbpf-gen <object.o> [-o FILE] [--type [MAP=]TYPE]... [--embed] [--import MODULE]
       node bin/load.js --gen <object.o> [same options]

Writes a TypeScript module for a BPF object: types for every BTF struct, union, enum
and typedef its maps and global variables use (and the --type ones), and a class that
loads it with typed maps, programs, global data (.rodata set before load; .data, .bss
read and written after) and event readers.

options:
  -o, --output FILE  write the module to FILE (default: stdout)
  --type [MAP=]TYPE  also generate C type TYPE ('struct event', a typedef name);
                     MAP=TYPE: the reader of perf / ring buffer MAP decodes records
                     as TYPE (a single TYPE without MAP: every such map does)
  --embed            embed the object's bytes (base64) instead of loading it from a
                     path relative to the module
  --import MODULE    import the runtime from MODULE (default: tsbpf)
  -h, --help         this text

exit codes: 0 written; 1 the object cannot be typed (no BTF, unknown --type); 2 usage
error or an object that cannot be read`;

interface GenCli { file?: string; output?: string; types: Array<{ map?: string; type: string }>; embed: boolean; importFrom?: string; help: boolean }

function parse(argv: string[]): GenCli {
  const { values, positionals } = parseArgv({
    args: argv, allowPositionals: true, strict: true,
    options: {
      output: { type: 'string', short: 'o' }, type: { type: 'string', multiple: true }, embed: { type: 'boolean' },
      import: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const o: GenCli = { types: [], embed: values.embed === true, help: values.help === true };
  if (o.help) return o;
  if (positionals.length !== 1) throw new Error(positionals.length ? `one object at a time (got ${positionals.join(', ')})` : 'no object given');
  o.file = positionals[0]!;
  if (values.output !== undefined) o.output = values.output;
  if (values.import !== undefined) o.importFrom = values.import;
  for (const t of values.type ?? []) {
    const eq = t.indexOf('=');
    if (eq === 0 || t.slice(eq + 1).trim() === '') throw new Error(`--type ${t}: expected TYPE or MAP=TYPE`);
    o.types.push(eq < 0 ? { type: t } : { map: t.slice(0, eq), type: t.slice(eq + 1) });
  }
  return o;
}

/** The path the module loads the object from: relative to the module's directory (`./x.o` style). */
function objectPathFrom(output: string | undefined, file: string): string {
  const rel = path.relative(output === undefined ? process.cwd() : path.dirname(path.resolve(output)), path.resolve(file)).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export async function genMain(argv: string[]): Promise<number> {
  let o: GenCli;
  try {
    o = parse(argv);
  } catch (e) {
    process.stderr.write(`tsbpf-gen: ${(e as Error).message.split('\n')[0]} (see --help)\n`);
    return 2;
  }
  if (o.help) { console.log(GEN_USAGE); return 0; }
  let bytes: Buffer;
  try {
    bytes = readFileSync(o.file!);
  } catch (e) {
    process.stderr.write(`tsbpf-gen: ${o.file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 2;
  }
  const { generateSkeleton } = await import('../gen/index.js');
  const { TsbpfError } = await import('../errors.js');
  let out;
  try {
    out = generateSkeleton(bytes, {
      file: o.file!, types: o.types,
      ...(o.embed ? {} : { path: objectPathFrom(o.output, o.file!) }),
      ...(o.importFrom !== undefined ? { importFrom: o.importFrom } : {}),
    });
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
    process.stderr.write(`tsbpf-gen: ${e.message}\n`);
    return 1;
  }
  for (const w of out.warnings) process.stderr.write(`tsbpf-gen: warning: ${o.file}: ${w}\n`);
  if (o.output === undefined) process.stdout.write(out.code);
  else writeFileSync(o.output, out.code);
  return 0;
}
