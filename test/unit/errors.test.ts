// Errors: context added on the way up keeps the instance (class and typed fields); every
// error class is exported from the package entry and documented in the README; the
// loader's retries depend on typed fields and feature probes, never on message text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as entry from '../../src/index.js';
import { Collection, loadCollectionSpec, SyscallError, TsbpfError, VerifierError } from '../../src/index.js';
import { ATTACH_TYPES } from '../../src/kernel/enums.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('wrap adds the location to the same VerifierError: log, insn and source stay', () => {
  const v = new VerifierError('verifier rejected program \'p\' (EACCES)', { symbol: 'p' }, { program: 'p', log: '0: (b7) r0 = 0\nR0 !read_ok', errnoName: 'EACCES', insn: 0, source: 'x.c:3: return 0;' });
  void v.stack; // the stack's first line is written now, with the old message
  const w = TsbpfError.wrap(v, { file: 'x.o', section: 'xdp', symbol: 'other' });
  assert.is(w, v);
  assert.instance(w, VerifierError);
  assert.is(v.log, '0: (b7) r0 = 0\nR0 !read_ok');
  assert.is(v.insn, 0);
  assert.is(v.source, 'x.c:3: return 0;');
  assert.is(v.file, 'x.o');
  assert.is(v.section, 'xdp');
  assert.is(v.symbol, 'p', 'fields already set win');
  assert.is(v.message, "x.o, section xdp, symbol p: verifier rejected program 'p' (EACCES)");
  assert.ok(v.stack!.startsWith(`VerifierError: ${v.message}`), v.stack);
});

test('a SyscallError keeps command, errno, code and hint through wrap, without parsing its message', () => {
  const e = new SyscallError('BPF_MAP_CREATE', 1, {}, { hint: 'a hint (with parentheses); and: colons' });
  assert.is(e.name, 'SyscallError');
  assert.is(e.code, 'EPERM');
  assert.is(e.errno, 1);
  assert.is(e.command, 'BPF_MAP_CREATE');
  assert.is(e.hint, 'a hint (with parentheses); and: colons');
  const w = TsbpfError.wrap(e, { file: 'a.o', symbol: 'm' }) as SyscallError;
  assert.is(w, e);
  assert.equal([w.command, w.errno, w.code, w.hint], ['BPF_MAP_CREATE', 1, 'EPERM', 'a hint (with parentheses); and: colons']);
  assert.ok(w.message.startsWith('a.o, symbol m: BPF_MAP_CREATE failed: EPERM (1, '), w.message);
  assert.is(SyscallError.from('close', 9).code, 'EBADF');
  assert.is(TsbpfError.wrap('not an error', { file: 'a.o' }), 'not an error');
});

/** Every `class X extends Y` in src where Y is TsbpfError or one of its subclasses. */
function errorClasses(): string[] {
  const files: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = path.join(d, n); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts')) files.push(p); } };
  walk(path.join(root, 'src'));
  const parent = new Map<string, string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/class (\w+) extends (\w+)/g)) parent.set(m[1]!, m[2]!);
  const isError = (c: string): boolean => c === 'TsbpfError' || (parent.has(c) && isError(parent.get(c)!));
  return [...parent.keys()].filter(isError).concat('TsbpfError').sort();
}

test('every error class is exported from the package entry and listed in the README', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'));
  const classes = errorClasses();
  assert.ok(classes.includes('SyscallError') && classes.includes('VerifierError') && classes.includes('CoreError'), classes.join());
  for (const c of classes) {
    const exported = (entry as Record<string, unknown>)[c];
    assert.type(exported, 'function', `${c} is exported from src/index.ts`);
    assert.ok((exported as { prototype: unknown }).prototype instanceof TsbpfError || exported === TsbpfError, `${c} is a TsbpfError`);
    assert.ok(section.includes(`| \`${c}\` |`), `${c} has a row in the README's Errors table`);
  }
});

/**
 * The reason names each error class can carry, read from its declaration: an exported
 * `type XReason = 'a' | 'b' ...` or the class's own `reason` field type.
 */
function reasonNames(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const names = (union: string) => [...union.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1]!);
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => { const p = path.join(d, n); return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []; });
  for (const f of walk(path.join(root, 'src'))) {
    const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(/export type (\w+)Reason =([^;]+);/g)) out.set(`${m[1]}Reason`, names(m[2]!));
    for (const m of text.matchAll(/class (\w+) extends \w+ \{[^}]*?override readonly reason(?:: ([^;=]+)| = ('[^']+'));/g)) {
      if (m[3]) out.set(m[1]!, names(m[3]));
      else if (m[2]!.includes("'")) out.set(m[1]!, names(m[2]!));
    }
  }
  return out;
}

test('every reason name is documented in the README\'s Errors section', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
  const reasons = reasonNames();
  for (const t of ['TsbpfErrorReason', 'AttachErrorReason', 'EventsErrorReason', 'MissingFeatureReason', 'MountError', 'MemlockError']) {
    assert.ok((reasons.get(t) ?? []).length > 0, `reasons of ${t} found in src`);
  }
  const missing = [...reasons].flatMap(([t, names]) => names.filter((n) => !section.includes(`\`'${n}'\``)).map((n) => `${t}: '${n}'`));
  assert.equal(missing, []);
});

const tailcallRun = () => loadCollectionSpec(path.join(root, 'bpf-objs', 'tailcall_run.bpf.o'));

test('optional expected attach type: sent when the kernel takes one (probed once), left out when it does not', () => {
  const xdp = ATTACH_TYPES.xdp;
  const k = new FakeKernel();
  const c = k.use(() => Collection.load(tailcallRun()));
  k.use(() => c.close());
  const probes = k.calls.filter((x) => x.command === 'BPF_PROG_LOAD' && x.progType === 'cgroup_sock');
  assert.is(probes.length, 1, 'one probe for the whole load');
  assert.is(probes[0]!.expectedAttachType, ATTACH_TYPES.cgroup_inet_sock_create);
  assert.ok(k.calls.filter((x) => x.progType === 'xdp').every((x) => x.expectedAttachType === xdp));

  const old = new FakeKernel(); // a kernel before 4.17: expected_attach_type is a field it refuses
  old.rules.push((x) => (x.command === 'BPF_PROG_LOAD' && x.expectedAttachType !== 0 ? 'EINVAL' : undefined));
  const o = old.use(() => Collection.load(tailcallRun()));
  old.use(() => o.close());
  const loads = old.calls.filter((x) => x.progType === 'xdp');
  assert.is(loads.length, 6);
  assert.ok(loads.every((x) => x.expectedAttachType === 0));
  assert.equal(old.openFds(), []);
});

test('a verifier rejection with EINVAL is not retried without the expected attach type', () => {
  const k = new FakeKernel();
  k.rules.push((x) => (x.command === 'BPF_PROG_LOAD' && x.name === 'ret_11' ? { errno: 'EINVAL', log: '0: (95) exit\nR0 !read_ok\n' } : undefined));
  let err: unknown;
  try { k.use(() => Collection.load(tailcallRun())); } catch (e) { err = e; }
  assert.instance(err, VerifierError);
  assert.is((err as VerifierError).errnoName, 'EINVAL');
  const tries = k.calls.filter((x) => x.name === 'ret_11');
  assert.equal(tries.map((x) => [x.logLevel, x.expectedAttachType]), [[0, ATTACH_TYPES.xdp], [1, ATTACH_TYPES.xdp]]);
  assert.equal(k.openFds(), []);
});

test.run();
