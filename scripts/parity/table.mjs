#!/usr/bin/env node
// The table of scripts/parity/bootstrap.sh: libbpf's verdicts (libbpf-verdict's tab-separated
// lines) next to tsbpf's (X.tsbpf.json beside each X.bpf.o, from `node bin/load.js X --json`,
// and X.PROG.attach.json from `--only PROG --attach`), load and attach, one markdown row per
// program. Exit 1 when a verdict differs.
//   node scripts/parity/table.mjs --libbpf libbpf.tsv [--commit C] OBJ...
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); if (i < 0) return undefined; const v = argv[i + 1]; argv.splice(i, 2); return v; };
const tsv = opt('--libbpf');
const commit = opt('--commit') ?? 'unknown';
if (!tsv || argv.length === 0) { console.error('usage: table.mjs --libbpf FILE [--commit C] OBJ...'); process.exit(2); }

/** libbpf's verdicts: "obj prog" -> { verdict, errno, warning }; "obj -" for an object that did not open. */
const libbpf = new Map();
for (const line of readFileSync(tsv, 'utf8').split('\n').filter(Boolean)) {
  const [obj, prog, verdict, errno, warning, attach, attachErrno, attachWarning] = line.split('\t');
  libbpf.set(`${obj} ${prog}`, { verdict, errno, warning, attach, attachErrno, attachWarning });
}

const short = (s, n = 90) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const cell = (s) => s.replace(/\|/g, '\\|');

function libbpfCell(obj, prog) {
  const v = libbpf.get(`${obj} ${prog}`) ?? libbpf.get(`${obj} -`);
  if (!v) return { verdict: 'missing', text: 'no verdict' };
  if (v.verdict === 'accepted') return { verdict: 'accepted', text: 'accepted' };
  const why = v.warning === '-' ? '' : `: ${short(v.warning.replace(/^libbpf: /, ''))}`;
  return { verdict: 'rejected', text: `${v.verdict === 'open-failed' ? 'open failed' : 'rejected'} (${v.errno})${why}` };
}

/** libbpf's attach verdict: attached, skipped (no target in the SEC() name), failed (errno: first warning), or - (not loaded). */
function libbpfAttach(obj, prog) {
  const v = libbpf.get(`${obj} ${prog}`);
  if (!v || v.attach === undefined || v.attach === '-') return { verdict: '-', text: '-' };
  if (v.attach !== 'failed') return { verdict: v.attach, text: v.attach };
  return { verdict: 'failed', text: `failed (${v.attachErrno})${v.attachWarning === '-' ? '' : `: ${short(v.attachWarning.replace(/^libbpf: /, ''), 70)}`}` };
}

/** tsbpf's attach verdict for `prog`, from X.PROG.attach.json (written only for accepted programs). */
function tsbpfAttach(obj, prog) {
  let doc;
  try { doc = JSON.parse(readFileSync(obj.replace(/\.bpf\.o$/, `.${prog}.attach.json`), 'utf8')).objects[0]; } catch { return { verdict: '-', text: '-' }; }
  const a = doc?.programs.find((p) => p.name === prog)?.attached;
  if (!a) return { verdict: 'failed', text: `failed: ${short(doc?.attachError ?? doc?.error ?? 'no result', 70)}` };
  if ('hook' in a) return { verdict: 'attached', text: 'attached' };
  if ('skipped' in a) return { verdict: 'skipped', text: 'skipped' };
  return { verdict: 'failed', text: `failed: ${short(a.error, 70)}` };
}

function tsbpfCell(p) {
  if (p.verdict === 'accepted') return 'accepted';
  const why = p.why?.reason ?? (p.why?.missing ? `missing ${p.why.missing.kind} ${p.why.missing.feature}` : undefined);
  const first = (p.error ?? '').split('\n')[0];
  return `${p.verdict} (${why ?? short(first)})`;
}

const version = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim(); } catch { return 'unknown'; } };
console.log(`libbpf-bootstrap ${commit}, Linux ${os.release()}, ${version('clang-19', ['--version'])}, libbpf-dev ${version('dpkg-query', ['-W', '-f', '${Version}', 'libbpf-dev'])}\n`);
console.log('| example | program | SEC() | libbpf load | tsbpf load | libbpf attach | tsbpf attach | same |');
console.log('|---|---|---|---|---|---|---|---|');
let differ = 0;
for (const obj of argv) {
  const example = path.basename(obj, '.bpf.o');
  const jsonFile = obj.replace(/\.bpf\.o$/, '.tsbpf.json');
  let result;
  try { result = JSON.parse(readFileSync(jsonFile, 'utf8')).objects[0]; } catch (e) {
    const err = readFileSync(obj.replace(/\.bpf\.o$/, '.tsbpf.err'), 'utf8').trim().split('\n')[0] ?? '';
    const l = libbpfCell(obj, '-');
    const same = l.verdict !== 'accepted';
    if (!same) differ++;
    console.log(`| ${example} | - | - | ${cell(l.text)} | ${cell(`failed: ${short(err || String(e))}`)} | - | - | ${same ? 'yes' : '**no**'} |`);
    continue;
  }
  if (result.error && result.programs.length === 0) {
    const l = libbpfCell(obj, '-');
    console.log(`| ${example} | - | - | ${cell(l.text)} | ${cell(`not loaded: ${short(result.error)}`)} | - | - | ${l.verdict !== 'accepted' ? 'yes' : '**no**'} |`);
    continue;
  }
  for (const p of result.programs) {
    const l = libbpfCell(obj, p.name);
    const t = tsbpfCell(p);
    const la = libbpfAttach(obj, p.name), ta = tsbpfAttach(obj, p.name);
    const same = (l.verdict === 'accepted') === (p.verdict === 'accepted') && la.verdict === ta.verdict;
    if (!same) differ++;
    console.log(`| ${example} | ${p.name} | \`${p.section}\` | ${cell(l.text)} | ${cell(t)} | ${cell(la.text)} | ${cell(ta.text)} | ${same ? 'yes' : '**no**'} |`);
  }
}
console.log(`\n${differ === 0 ? 'every verdict agrees' : `${differ} verdict(s) differ`}`);
process.exit(differ === 0 ? 0 : 1);
