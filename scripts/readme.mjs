#!/usr/bin/env node
// The real outputs shown in README.md and docs/cli.md, made by running what they show.
//
//   node scripts/readme.mjs [--test-log FILE] [--vm-log FILE]           rewrite the stale blocks
//   node scripts/readme.mjs --check [--test-log FILE] [--vm-log FILE]   exit 1 when one is stale
//
// A generated block is a fenced code block between two marker comments (invisible once
// rendered). The opening marker says what makes it:
//
//   <!-- gen:output CMD -->      the output of the shell command CMD
//   <!-- gen:session -->         a transcript: every `$ CMD` line of the block is run again
//                                and followed by its output
//   <!-- gen:session cleanup: CMD -->   the same, then CMD run whatever happened (not shown)
//   <!-- gen:vm-table -->        the table `npm run test:vm` prints, from --vm-log FILE
//   <!-- gen:test-summary -->    npm test's closing line, from --test-log FILE
//   ```
//   ...
//   ```
//   <!-- /gen -->
//
// Commands run under bash, stderr into stdout, in a scratch directory that looks like the
// repository (bin, dist, bpf-objs, package.json linked) and also holds cli_tc.bpf.c
// (test/data) and cli_tc.bpf.o built from it with clang-19. Outputs come from real loads:
// run as root, after `npm run build`. Without --vm-log / --test-log those blocks are left
// as they are (and not checked).
//
// --check compares each block with a fresh run modulo what changes from run to run (see
// normalise(): program and map ids, load times, prog ids in bpftool dumps, ls -l dates,
// kernel patch numbers and seconds in the VM table, column padding), so a stale output (a new line, a
// new option, a changed count) fails and a new id does not. .ci/run runs it with the logs
// of its own npm test and VM matrix.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['README.md', 'docs/cli.md'];
const BLOCK = /<!-- gen:([a-z-]+)(?: (.*?))? -->\n(```[^\n]*)\n([^]*?)\n?```\n<!-- \/gen -->/g;

/** The generated blocks of a markdown text; throws on a marker that does not open a well-formed block. */
export function blocksOf(text) {
  const found = [...text.matchAll(BLOCK)].map((m) => ({ kind: m[1], arg: m[2], body: m[4] }));
  const openers = text.match(/<!-- gen:/g)?.length ?? 0;
  if (openers !== found.length) throw new Error(`${openers} gen: markers but ${found.length} well-formed blocks (marker line, a fenced block, <!-- /gen -->)`);
  return found;
}

/** What changes from one real run to the next; applied to both sides of --check. */
export function normalise(text) {
  return text
    .replace(/\bid (\d+)/g, 'id N')
    .replace(/"(id|loadMs)": [\d.]+/g, '"$1": N')
    .replace(/\b\d+(\.\d+)? ms\b/g, 'N ms')
    .replace(/\btime="[\d.]+"/g, 'time="N"')
    .replace(/\bvalue:( [0-9a-f]{2})+/g, 'value: N') // bpftool dump of a prog array: prog ids
    .replace(/\b[A-Z][a-z]{2} +\d{1,2} +(\d\d:\d\d|\d{4}) /g, 'DATE ') // ls -l
    .replace(/^(\d+\.\d+)[.\-+]\S*/gm, '$1.N') // VM table: 6.1.0-56-amd64, 6.12.117+deb12-amd64
    .replace(/ \d+s(?= +(?:full|smoke|-)$|$)/gm, ' Ns') // VM table: seconds a row took (before its suite)
    .split('\n').map((l) => l.replace(/[ \t]+/g, ' ').trimEnd()).join('\n')
    .trim();
}

/** The scratch directory the commands run in (made once, removed at exit). */
let scratch;
function workdir() {
  if (scratch) return scratch;
  scratch = mkdtempSync(path.join(tmpdir(), 'tsbpf-readme-'));
  chmodSync(scratch, 0o755); // the unprivileged example (setpriv) runs in it too
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  for (const f of ['bin', 'dist', 'bpf-objs', 'node_modules', 'package.json']) symlinkSync(path.join(root, f), path.join(scratch, f));
  copyFileSync(path.join(root, 'test/data/cli_tc.bpf.c'), path.join(scratch, 'cli_tc.bpf.c'));
  const arch = process.arch === 'x64' ? 'x86_64' : 'aarch64';
  // the prefix map makes the source path in line info ./cli_tc.bpf.c, not the scratch directory's
  const cc = spawnSync('clang-19', ['-g', '-O2', '-target', 'bpf', `-fdebug-prefix-map=${scratch}=.`, `-I/usr/include/${arch}-linux-gnu`, '-c', 'cli_tc.bpf.c', '-o', 'cli_tc.bpf.o'], { cwd: scratch, encoding: 'utf8' });
  if (cc.status !== 0) fatal(`clang-19 cannot build test/data/cli_tc.bpf.c: ${cc.error?.message ?? cc.stderr}`);
  // bpffs where the pins go, so that no output carries the CLI's one-time "mounted bpffs" notice
  const bpffs = spawnSync('bash', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'], { encoding: 'utf8' });
  if (bpffs.status !== 0) fatal(`cannot mount bpffs at /sys/fs/bpf: ${bpffs.stderr}`);
  return scratch;
}

/** CMD's output as a terminal shows it (stderr into stdout), without the last newline. */
function sh(cmd) {
  const r = spawnSync('bash', ['-c', `exec 2>&1\n${cmd}`], { cwd: workdir(), encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', LANG: 'C' }, maxBuffer: 64 << 20 });
  if (r.error) fatal(`${cmd}: ${r.error.message}`);
  return r.stdout.replace(/\n$/, '');
}

function fatal(msg) {
  console.error(`readme: ${msg}`);
  process.exit(2);
}

/** The table of a `npm run test:vm` run: its header line and the rows up to the next blank line. */
export function vmTable(output) {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const at = lines.findLastIndex((l) => /^kernel\s+kernel tests\b/.test(l));
  if (at < 0) return undefined;
  const end = lines.findIndex((l, i) => i > at && l.trim() === '');
  return lines.slice(at, end < 0 ? undefined : end).join('\n');
}

/** npm test's closing line. */
function testSummary(log) {
  const all = [...readFileSync(log, 'utf8').matchAll(/^\d+ passed, \d+ failed, \d+ skipped$/gm)];
  if (!all.length) fatal(`${log}: no "N passed, N failed, N skipped" line`);
  return all[all.length - 1][0];
}

/** The new body of a block, or undefined when it cannot be made here (a log not given). */
function generate(kind, arg, body, logs) {
  switch (kind) {
    case 'output': return sh(arg);
    case 'session': {
      try {
        return body.split('\n').filter((l) => l.startsWith('$ ')).map((l) => {
          const out = sh(l.slice(2));
          return out ? `${l}\n${out}` : l;
        }).join('\n');
      } finally {
        const cleanup = /^cleanup: (.+)$/.exec(arg ?? '')?.[1];
        if (cleanup) sh(cleanup);
      }
    }
    case 'vm-table': {
      if (!logs.vm) return undefined;
      return vmTable(readFileSync(logs.vm, 'utf8')) ?? fatal(`${logs.vm}: no VM table (a line starting "kernel   kernel tests")`);
    }
    case 'test-summary': return logs.test ? testSummary(logs.test) : undefined;
    default: fatal(`unknown marker gen:${kind}`);
  }
}

/** Lines of a and b with the differing ones marked (a plain LCS; blocks are short). */
function diff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const L = Array.from({ length: x.length + 1 }, () => new Array(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { i++; j++; continue; }
    if (j < y.length && (i >= x.length || L[i][j + 1] >= L[i + 1][j])) out.push(`    + ${y[j++]}`);
    else out.push(`    - ${x[i++]}`);
  }
  return out.join('\n');
}

function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, 'vm-log': { type: 'string' }, 'test-log': { type: 'string' } }, strict: true });
  const logs = { vm: values['vm-log'], test: values['test-log'] };
  if (process.getuid?.() !== 0) fatal('run as root: the outputs are those of real loads');
  if (!existsSync(path.join(root, 'dist/cli.bundle.cjs'))) fatal('build first (npm run build)');
  let stale = 0, kept = 0;
  for (const file of FILES) {
    const text = readFileSync(path.join(root, file), 'utf8');
    try { blocksOf(text); } catch (e) { fatal(`${file}: ${e.message}`); }
    const next = text.replace(BLOCK, (whole, kind, arg, fence, body) => {
      const fresh = generate(kind, arg, body, logs);
      if (fresh === undefined) { kept++; console.log(`readme: ${file}: gen:${kind} kept (no log given)`); return whole; }
      if (normalise(fresh) === normalise(body)) return whole; // only ids and times moved: no churn
      if (values.check) {
        stale++;
        console.log(`readme: ${file}: gen:${kind}${arg ? ` ${arg}` : ''} is stale (- written, + now; normalised):\n${diff(normalise(body), normalise(fresh))}`);
      }
      return `<!-- gen:${kind}${arg ? ` ${arg}` : ''} -->\n${fence}\n${fresh}\n\`\`\`\n<!-- /gen -->`;
    });
    if (!values.check && next !== text) { writeFileSync(path.join(root, file), next); console.log(`readme: ${file} rewritten`); }
  }
  if (values.check) {
    if (stale) {
      console.log(`readme: ${stale} block(s) stale: run \`node scripts/readme.mjs --test-log FILE --vm-log FILE\` as root (logs of npm test and npm run test:vm) and commit`);
      process.exit(1);
    }
    console.log(`readme: every generated block is current${kept ? ` (${kept} not checked: no log given)` : ''}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
