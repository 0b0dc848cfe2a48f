/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`) by self time and by inclusive time
 * per function, to find where bench/parse.ts spends its time.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/parse.ts --only vmlinux --mode mem
 *   node --import tsx bench/cpuprofile-top.ts /tmp/prof/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const args = process.argv.slice(2);
let top = 25;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else files.push(args[i]!);
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const label = (n: Node) => {
    const f = n.callFrame;
    const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/(src|bench|node_modules)\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const selfBy = new Map<string, number>();
  const inclBy = new Map<string, number>();
  let total = 0;
  for (const [id, t] of self) {
    total += t;
    const n = byId.get(id)!;
    selfBy.set(label(n), (selfBy.get(label(n)) ?? 0) + t);
    // inclusive: count each function once per sample stack
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclBy.set(l, (inclBy.get(l) ?? 0) + t);
    }
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (${file}, ${(total / 1000).toFixed(0)} ms sampled)`);
    for (const [l, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(1).padStart(8)} ms  ${l}`);
    }
  };
  show('self time', selfBy);
  show('inclusive time', inclBy);
}
