// Which fixtures a kernel refuses, and how (bpf-objs/kernel-requirements.json): the one
// list the kernel tests (test/kernel/fixtures.test.ts) and the VM matrix's CLI tally
// (guest-suite.mjs) both check against. Pure: no kernel calls.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** "6.1.0-57-amd64" or "5.17" -> major * 1000 + minor. */
export function versionNumber(v) {
  const m = /^(\d+)\.(\d+)/.exec(String(v));
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
}

export function loadRequirements(file = path.join(root, 'bpf-objs', 'kernel-requirements.json')) {
  return JSON.parse(readFileSync(file, 'utf8')).requirements;
}

/** Whether requirement `r` says kernel `release` refuses its object / program. */
export function refusedOn(r, release) {
  if (r.always) return true;
  const v = versionNumber(release);
  if (r.since !== undefined && v < versionNumber(r.since)) return true;
  if (r.from !== undefined && v >= versionNumber(r.from) && (r.until === undefined || v < versionNumber(r.until))) return true;
  return false;
}

/**
 * What `release` must do with `object` (a file name or path): `object` is the requirement
 * that refuses the whole object (or undefined), `programs` those per program.
 */
export function expectationsFor(reqs, object, release) {
  const base = path.basename(object);
  const mine = reqs.filter((r) => r.object === base && refusedOn(r, release));
  return { object: mine.find((r) => r.program === undefined), programs: new Map(mine.filter((r) => r.program !== undefined).map((r) => [r.program, r])) };
}

/**
 * Whether a refusal is the one `r` describes. `got`: { why?: { missing?: {kind, feature},
 * reason? }, error?: string, tail?: string[] } as the CLI's JSON gives it (or built from an
 * error by the kernel tests).
 */
export function matchesRefusal(r, got) {
  if (r.missing) return got.why?.missing?.kind === r.missing.kind && got.why?.missing?.feature === r.missing.feature;
  if (r.reason) return got.why?.reason === r.reason;
  if (r.verifier) return [got.error ?? '', ...(got.tail ?? [])].some((l) => l.includes(r.verifier));
  return false;
}

/** One line describing what a requirement expects, for messages. */
export function describe(r) {
  const what = r.missing ? `${r.missing.kind} ${r.missing.feature} missing` : r.reason ? `reason '${r.reason}'` : `verifier: ${r.verifier}`;
  const when = r.always ? 'on every kernel' : r.since ? `before ${r.since}` : `from ${r.from}${r.until ? ` until ${r.until}` : ''}`;
  return `${r.object}${r.program ? ` ${r.program}` : ''}: refused ${when} (${what})`;
}
