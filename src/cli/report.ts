/** Text and JSON renderings of ObjectResult. */
import type { ObjectResult } from './result.js';

/** How a program without a type (section unknown, no --type) shows in the type column. */
const NO_TYPE = '(no type)';

function pad(s: string, n: number): string { return s.length >= n ? s : s + ' '.repeat(n - s.length); }
function lpad(s: string, n: number): string { return s.length >= n ? s : ' '.repeat(n - s.length) + s; }

function slotList(slots: number[]): string {
  return slots.length > 8 ? `${slots.slice(0, 8).join(', ')}, ... (${slots.length} slots)` : slots.join(', ');
}

export function text(o: ObjectResult): string {
  const out: string[] = [`${o.file}  (license ${JSON.stringify(o.license)})`];
  const w = Math.max(12, ...o.programs.map((p) => p.name.length));
  const sw = Math.max(10, ...o.programs.map((p) => p.section.length));
  const typeOf = (p: ObjectResult['programs'][number]) => (p.type === null ? NO_TYPE : p.attachType ? `${p.type}/${p.attachType}` : p.type);
  const tw = Math.max(10, ...o.programs.map((p) => typeOf(p).length));
  const attaching = o.programs.some((p) => p.attached);
  const aw = attaching ? Math.max(11, ...o.programs.map((p) => attachedTo(p).length)) : 0;
  out.push(`${pad('  programs:', 4 + w + sw + tw + 3)}${pad('verdict', 8)} ${lpad('insns', 6)} ${lpad('verified', 8)} ${lpad('load', 10)}${attaching ? `  ${pad('attached to', aw)}` : ''}`.trimEnd());
  for (const p of o.programs) {
    const type = typeOf(p);
    const load = p.loadMs === null ? '' : `${p.loadMs.toFixed(2)} ms`;
    const extra = [p.id !== undefined ? `id ${p.id}` : '', p.pinnedAt ? `pinned ${p.pinnedAt}` : '', p.verdict === 'skipped' && p.error ? p.error : ''].filter(Boolean).join('  ');
    const att = attaching ? `  ${pad(attachedTo(p), aw)}` : '';
    out.push(`    ${pad(p.name, w)} ${pad(p.section, sw)} ${pad(type, tw)} ${pad(p.verdict, 8)} ${lpad(String(p.insns), 6)} ${lpad(p.verifiedInsns === null ? '-' : String(p.verifiedInsns), 8)} ${lpad(load, 10)}${att}${extra ? `  ${extra}` : ''}`.trimEnd());
  }
  const notAttached = o.programs.filter((p) => p.attached && !('hook' in p.attached));
  if (notAttached.length) {
    out.push('  not attached:');
    for (const p of notAttached) out.push(`    ${p.name}: ${'skipped' in p.attached! ? p.attached.skipped : (p.attached as { error: string }).error}`);
  }
  const refs = o.programs.filter((p) => p.kernelRefs?.length);
  if (refs.length) {
    out.push('  kernel references (kfuncs, typed ksyms, attach targets):');
    for (const p of refs) out.push(`    ${p.name}: ${p.kernelRefs!.join(', ')}`);
  }
  out.push('  maps:');
  const mw = Math.max(12, ...o.maps.map((m) => m.name.length));
  for (const m of o.maps) {
    const extra = [m.flags ? `flags 0x${m.flags.toString(16)}` : '', m.notCreated ?? '', m.id !== undefined ? `id ${m.id}` : '', m.pinnedAt ? `pinned ${m.pinnedAt}${m.byName ? ` (by name${m.byName === 'reused' ? ', reused' : ''})` : ''}` : ''].filter(Boolean).join('  ');
    out.push(`    ${pad(m.name, mw)} ${pad(m.type, 17)} key ${m.keySize} value ${m.valueSize} max ${m.maxEntries}${extra ? `  ${extra}` : ''}`);
  }
  const arrays = o.maps.filter((m) => m.type === 'prog_array' || m.contents);
  if (arrays.length) out.push(o.loaded ? '  tail-call tables (slots filled in the kernel):' : '  statically initialised tables:');
  for (const m of arrays) {
    const filled = m.type === 'prog_array' ? o.tailCalls.filter((t) => t.map === m.name).map((t) => ({ key: t.slot, value: t.program })) : (m.contents ?? []);
    out.push(`    ${m.name}: ${filled.length ? filled.map((c) => `[${c.key}] -> ${c.value}`).join(', ') : '(empty)'}`);
  }
  if (o.graph.edges.length) {
    out.push(`  tail calls (found in the instructions${o.loaded ? ' of the loaded programs' : ''}):`);
    for (const e of o.graph.edges) {
      const slotRef = `${e.map ?? '?'}[${e.slot}]`;
      const to = e.to ? (e.slot === '*' ? `${e.to} [${slotList(e.slots ?? [])}]` : e.to) : e.slot === '*' ? '(table empty: falls through)' : '(empty: falls through)';
      const loop = e.to === e.from ? '  (loops: the kernel stops after 33 tail calls)' : '';
      out.push(`    ${e.from} -> ${slotRef} -> ${to}${loop}`);
    }
  }
  const notes = [...o.graph.findings, ...o.warnings];
  if (notes.length) {
    out.push('  look at:');
    for (const n of notes) out.push(`    ${n}`);
  }
  for (const p of o.programs) {
    if (p.verdict !== 'rejected') continue;
    out.push(`  REJECTED ${p.name} (${p.section}, ${p.type ?? NO_TYPE}):`);
    const r = p.rejection;
    if (r?.insn !== undefined) out.push(`    at insn ${r.insn}: ${r.disasm ?? '?'}`);
    if (r?.source) out.push(`    source: ${r.source}`);
    if (r?.explanation) out.push(`    ${r.explanation}`);
    if (r?.tail.length) {
      out.push('    verifier log (last lines; all of it with --log DIR):');
      for (const l of r.tail) out.push(`      ${l}`);
    } else {
      out.push(`    ${(p.error ?? '').split('\n').join('\n    ')}`);
    }
  }
  if (o.error) out.push(`  NOT LOADED: ${o.error}`);
  if (o.atExit.length) {
    out.push('  at exit:');
    for (const l of o.atExit) out.push(`    ${l}`);
  }
  return out.join('\n');
}

/** The 'attached to' column: 'kprobe do_sys_openat2', '-' (skipped) or 'FAILED'. */
function attachedTo(p: ObjectResult['programs'][number]): string {
  const a = p.attached;
  if (!a) return '';
  if ('hook' in a) return `${a.hook} ${a.target}`;
  return 'skipped' in a ? '-' : 'FAILED';
}

/** The issue's JSON shape. */
export function json(objects: ObjectResult[]): string {
  return JSON.stringify({
    objects: objects.map((o) => ({
      file: o.file,
      programs: o.programs.map((p) => ({
        name: p.name, section: p.section, type: p.type, verdict: p.verdict, insns: p.insns,
        verifiedInsns: p.verifiedInsns, loadMs: p.loadMs, ...(p.error !== undefined && p.verdict !== 'accepted' ? { error: p.error } : {}),
        ...(p.why ? { why: p.why } : {}),
        ...(p.verdict === 'rejected' && p.rejection?.tail.length ? { tail: p.rejection.tail } : {}),
        ...(p.attached ? { attached: p.attached } : {}),
      })),
      maps: o.maps.map((m) => ({
        name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
        ...(m.contents ? { contents: m.contents } : {}),
        ...(m.notCreated ? { created: false, note: m.notCreated } : {}),
      })),
      tailCalls: o.tailCalls,
      ...(o.error !== undefined ? { error: o.error } : {}),
      ...(o.errorWhy ? { errorWhy: o.errorWhy } : {}),
      ...(o.attachError ? { attachError: o.attachError } : {}),
    })),
  }, null, 2);
}
