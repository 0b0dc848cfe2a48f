/** JUnit XML for CI: one test suite per object, one test case per program. */
import type { ObjectResult } from './result.js';

export function xmlEscape(s: string): string {
  // XML 1.0 allows no control characters other than tab, LF, CR
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function junit(objects: ObjectResult[]): string {
  const total = (f: (o: ObjectResult) => number) => objects.reduce((n, o) => n + f(o), 0);
  const count = (o: ObjectResult, v: string) => o.programs.filter((p) => p.verdict === v).length;
  const secs = (o: ObjectResult) => o.programs.reduce((t, p) => t + (p.loadMs ?? 0), 0) / 1000;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tsbpf verifier" tests="${total((o) => o.programs.length)}" failures="${total((o) => count(o, 'rejected'))}" skipped="${total((o) => count(o, 'skipped'))}" errors="0" time="${total(secs).toFixed(6)}">`,
  ];
  for (const o of objects) {
    out.push(`  <testsuite name="${xmlEscape(o.file)}" tests="${o.programs.length}" failures="${count(o, 'rejected')}" skipped="${count(o, 'skipped')}" errors="0" time="${secs(o).toFixed(6)}">`);
    for (const p of o.programs) {
      const head = `    <testcase classname="${xmlEscape(o.file)}" name="${xmlEscape(p.name)}" time="${((p.loadMs ?? 0) / 1000).toFixed(6)}"`;
      if (p.verdict === 'accepted') { out.push(`${head}/>`); continue; }
      out.push(`${head}>`);
      if (p.verdict === 'skipped') {
        out.push(`      <skipped message="${xmlEscape(p.error ?? 'skipped')}"/>`);
      } else {
        const r = p.rejection;
        const first = (p.error ?? 'rejected').split('\n')[0]!;
        const body = [
          ...(r?.insn !== undefined ? [`at instruction ${r.insn}${r.disasm ? `: ${r.disasm}` : ''}`] : []),
          ...(r?.source ? [`source: ${r.source}`] : []),
          ...(r?.tail.length ? ['verifier log (last lines):', ...r.tail] : [p.error ?? '']),
        ].join('\n');
        out.push(`      <failure type="${p.rejection?.tail.length ? 'verifier' : 'load'}" message="${xmlEscape(first)}">${xmlEscape(body)}</failure>`);
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
