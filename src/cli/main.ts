/**
 * `node bin/load.js [--json] <object.o>...`
 * Reads each object into a CollectionSpec and reports its programs, maps and
 * statically initialised tail-call tables. (Loading into the kernel, pinning and
 * verifier verdicts come with the loader.)
 */
import { loadCollectionSpec } from '../spec/index.js';
import type { CollectionSpec } from '../spec/types.js';
import { TsbpfError } from '../errors.js';

const USAGE = `usage: node bin/load.js [--json] <object.o>...

Reads clang-compiled BPF objects and reports programs, maps and tail-call tables.
  --json     one JSON document on stdout
  -h, --help this text

exit codes: 0 every object read; 2 usage error or an object that cannot be read`;

function describe(spec: CollectionSpec) {
  return {
    file: spec.file,
    license: spec.license,
    programs: [...spec.programs.values()].map((p) => ({
      name: p.name, section: p.section, type: p.type, ...(p.attachType ? { attachType: p.attachType } : {}),
      insns: p.instructions.length, subprograms: p.subprograms, autoload: p.autoload,
    })),
    maps: [...spec.maps.values()].map((m) => ({
      name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries,
      flags: m.flags, ...(m.pinning ? { pinning: m.pinning } : {}), ...(m.contents ? { contents: m.contents } : {}),
    })),
    tailCalls: [...spec.maps.values()].filter((m) => m.type === 'prog_array')
      .flatMap((m) => (m.contents ?? []).map((c) => ({ map: m.name, slot: c.key, program: c.value }))),
    warnings: spec.warnings,
  };
}

function pad(s: string, n: number): string { return s.length >= n ? s : s + ' '.repeat(n - s.length); }

function printText(d: ReturnType<typeof describe>): void {
  const out: string[] = [`${d.file}  (license ${JSON.stringify(d.license)})`, '  programs:'];
  for (const p of d.programs) {
    const type = p.attachType ? `${p.type}/${p.attachType}` : p.type;
    const subs = p.subprograms.length ? `  + ${p.subprograms.join(', ')}` : '';
    out.push(`    ${pad(p.name, 20)} ${pad(p.section, 22)} ${pad(type, 24)} ${String(p.insns).padStart(5)} insns${subs}${p.autoload ? '' : '  (autoload off)'}`);
  }
  out.push('  maps:');
  for (const m of d.maps) {
    out.push(`    ${pad(m.name, 20)} ${pad(m.type, 18)} key ${m.keySize} value ${m.valueSize} max ${m.maxEntries}${m.flags ? ` flags 0x${m.flags.toString(16)}` : ''}${m.pinning ? ' pinned by name' : ''}`);
  }
  const tables = d.maps.filter((m) => m.type === 'prog_array' || m.contents);
  if (tables.length) out.push('  statically initialised tables:');
  for (const m of tables) {
    out.push(`    ${m.name}: ${m.contents?.length ? m.contents.map((c) => `[${c.key}] -> ${c.value}`).join(', ') : '(empty)'}`);
  }
  for (const w of d.warnings) out.push(`  warning: ${w}`);
  console.log(out.join('\n'));
}

export function main(argv: string[]): number {
  const files: string[] = [];
  let json = false;
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') { console.log(USAGE); return 0; }
    else if (a.startsWith('-')) { console.error(`load: unknown option ${a}\n\n${USAGE}`); return 2; }
    else files.push(a);
  }
  if (files.length === 0) { console.error(USAGE); return 2; }
  const docs = [];
  for (const f of files) {
    try {
      docs.push(describe(loadCollectionSpec(f)));
    } catch (e) {
      if (e instanceof TsbpfError) { console.error(`load: ${e.message}`); return 2; }
      throw e;
    }
  }
  if (json) console.log(JSON.stringify({ objects: docs }, null, 2));
  else docs.forEach(printText);
  return 0;
}
