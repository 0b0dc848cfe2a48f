#!/usr/bin/env node
// CLI start-up budget: `node bin/load.js OBJ` against `node -e 0`, N spawns each,
// interleaved, median wall time; prints the difference (issue 5: at most 50 ms) and what
// bin/load.js ran (the bundle with its code cache, or dist/cli/main.js when the bundle is
// missing or older than its inputs: `npm run build`).
//   node bench/cli.mjs [N=31] [OBJ=bpf-objs/tailcall_uretprobe.bpf.o] [-- extra CLI args]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dash = process.argv.indexOf('--');
const pos = process.argv.slice(2, dash < 0 ? undefined : dash);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
const N = Number(pos[0] ?? 31);
const obj = pos[1] ?? 'bpf-objs/tailcall_uretprobe.bpf.o';
const cmds = [
  ['node -e 0', ['-e', '0']],
  [`node bin/load.js ${[...extra, obj].join(' ')}`, ['bin/load.js', ...extra, obj]],
];
const times = cmds.map(() => []);
let status;
for (let i = 0; i < N + 2; i++) {
  cmds.forEach(([, args], j) => {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - t;
    if (j === 1) status = r.status;
    if (i >= 2) times[j].push(ms); // two warm-up rounds
  });
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const q = (a, f) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) * f)];
cmds.forEach(([name], j) => console.log(`${med(times[j]).toFixed(1).padStart(7)} ms median (p10 ${q(times[j], 0.1).toFixed(1)}, p90 ${q(times[j], 0.9).toFixed(1)})  ${name}`));
const diff = med(times[1]) - med(times[0]);
let entry = 'unknown (dist/cli/boot.js not built)';
try { entry = (await import('../dist/cli/boot.js')).entryPoint(); } catch { /* not built */ }
console.log(`${diff.toFixed(1).padStart(7)} ms  CLI overhead beyond node -e 0 (budget 50 ms; N=${N}, CLI exit ${status}; ran ${entry})`);
