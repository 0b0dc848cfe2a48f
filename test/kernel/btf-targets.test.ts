// Kernel references that need more than vmlinux: kfuncs and fentry targets that may live in
// a module (nf_conntrack is a module on Debian kernels, built in here), and freplace /
// fexit programs whose target is a function of another BPF program. Behaviour is checked
// by running programs (BPF_PROG_TEST_RUN) and reading their maps. Where the kernel refuses
// BPF trampolines (decided by a probe), the tests check the refusal and its reason instead.
// Needs root; skipped otherwise, except under CI=true.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, TsbpfError, VerifierError } from '../../src/index.js';
import { allIds, btfGetFdById, btfInfo, Fd } from '../../src/sys/index.js';
import { kallsymsHas, kernelFuncHome, kernelStructHasMember, kfuncAddressProbe, trampolineProbe } from '../helpers/kernel-probes.js';
import { kernelSuite, ownIds } from '../helpers/kernel-suite.js';
import { assertRefusal, programRefusal } from '../helpers/requirements.js';

const { run, test } = kernelSuite('btf-targets');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kfuncs = path.join(root, 'bpf-objs/kfuncs.bpf.o');
const ksyms = path.join(root, 'bpf-objs/ksyms.bpf.o');
const weak = path.join(root, 'bpf-objs/kfunc_weak.bpf.o');
const freplace = path.join(root, 'bpf-objs/freplace.bpf.o');
const pkt = () => new Uint8Array(64);
const fds = () => readdirSync('/proc/self/fd').length;
const ENOENT = 2;

const home = run ? kernelFuncHome('bpf_xdp_ct_lookup') : undefined;
/** Set by the VM matrix (scripts/vm/guest-suite.mjs expectedModules): the modules that must
 * hold these symbols on this kernel, or 'none' (5.10: nf_conntrack has no kfuncs, module BTF
 * no VARs). */
const expectEnv = process.env.TSBPF_EXPECT_MODULES;
const expectModules = (expectEnv ?? '').split(',').filter((m) => m && m !== 'none');

// only in the VM matrix, which names the modules it loaded
if (expectEnv === undefined) console.log('  (module-resolution test skipped: TSBPF_EXPECT_MODULES is set only inside the VM matrix)');
(expectEnv !== undefined ? test : uvuTest.skip)('where the VM matrix loaded nf_conntrack and x_tables as modules, the symbols are found there (where the release has them), not in vmlinux', () => {
  if (expectModules.includes('nf_conntrack')) assert.is(home, 'nf_conntrack', 'bpf_xdp_ct_lookup in module BTF');
  else assert.is.not(home, 'nf_conntrack', 'no nf_conntrack kfunc where the release has none');
  if (expectModules.includes('x_tables')) assert.is(kernelFuncHome('xt_recseq', 'var'), 'x_tables', 'xt_recseq in module BTF');
  else assert.is.not(kernelFuncHome('xt_recseq', 'var'), 'x_tables', 'no module VAR where the release has none');
});
const tramp = run ? trampolineProbe() : { ok: false };
if (run) {
  console.log(`  (bpf_xdp_ct_lookup lives in: ${home ?? 'nowhere: nf_conntrack is not loaded'}; BPF trampolines: ${tramp.ok ? 'allowed' : `refused (${tramp.why})`})`);
}

/** The kernel's BTF object id of a module (or vmlinux), read independently of the loader. */
function kernelBtfId(name: string): number | undefined {
  for (const id of allIds('btf')) {
    const fd = new Fd(btfGetFdById(id), 'probe');
    try { const i = btfInfo(fd); if (i.kernelBtf && i.name === name) return id; } finally { fd.close(); }
  }
  return undefined;
}

test('a kfunc call runs: bpf_xdp_ct_lookup of an unknown tuple sets -ENOENT; found where the kernel has it, no fd left open', () => {
  if (!home) {
    assert.throws(() => Collection.loadFile(kfuncs, { programs: ['ct_lookup'] }), /kfunc 'bpf_xdp_ct_lookup'.*does not have/);
    return;
  }
  const before = fds();
  const c = Collection.loadFile(kfuncs, { programs: ['ct_lookup'] });
  try {
    const p = c.programs.get('ct_lookup')!;
    assert.is(p.testRun({ data: pkt() }).retval, ENOENT, 'the kfunc ran and reported ENOENT through opts.error');
    const refs = Object.fromEntries(p.kernelRefs.map((r) => [r.name, r.source]));
    assert.equal(refs, { bpf_xdp_ct_lookup: home, bpf_ct_release: home }, 'resolved in the BTF that has them');
  } finally { c.close(); }
  assert.is(fds(), before, 'module BTF fds (and everything else) closed');
});

test('fentry on the kfunc: attached through a link it counts every call, detached it stops', () => {
  if (!home) return; // covered by the refusal above
  if (!tramp.ok) {
    const ids = ownIds('prog');
    assert.throws(() => Collection.loadFile(kfuncs), (e: Error) => e instanceof TsbpfError && /on_ct_lookup.*EPERM.*trampoline/.test(e.message));
    assert.throws(() => Collection.loadFile(kfuncs, { alwaysLog: true }), (e: Error) => e instanceof TsbpfError && /on_ct_lookup.*EPERM.*trampoline/.test(e.message), 'the same reason when a log was asked for');
    assert.equal(ownIds('prog'), ids, 'the refused loads left no program behind');
    return;
  }
  const c = Collection.loadFile(kfuncs);
  try {
    const fentry = c.programs.get('on_ct_lookup')!, ct = c.programs.get('ct_lookup')!;
    const ref = fentry.kernelRefs.find((r) => r.kind === 'attach')!;
    assert.equal([ref.name, ref.source], ['bpf_xdp_ct_lookup', home]);
    const info = fentry.info();
    assert.is(info.attachBtfId, ref.btfId, 'attach_btf_id');
    assert.is(info.attachBtfObjId, kernelBtfId(home), `attach_btf_obj_id is ${home}'s BTF object`);
    const count = () => BigInt((c.maps.get('.bss')!.lookup(0) as Record<string, bigint>)['lookups']!);
    const link = fentry.attach();
    try {
      for (let i = 0; i < 3; i++) ct.testRun({ data: pkt() });
      assert.is(count(), 3n, 'three calls counted');
    } finally { link.close(); }
    ct.testRun({ data: pkt() });
    assert.is(count(), 3n, 'not counted once the link is closed');
  } finally { c.close(); }
});

test('a typed ksym found where the kernel has it (x_tables\' per-CPU xt_recseq): read through bpf_this_cpu_ptr', () => {
  // Debian 11's 5.10: no VARs in module BTF; the requirements' table says so (ksym-missing before 6.1)
  const listed = programRefusal('ksyms.bpf.o', 'ksym_module');
  if (listed) return assertRefusal(() => Collection.loadFile(ksyms, { programs: ['ksym_module'] }).close(), listed, 'ksyms ksym_module: ');
  const where = kernelFuncHome('xt_recseq', 'var');
  if (!where) {
    assert.throws(() => Collection.loadFile(ksyms, { programs: ['ksym_module'] }), (e: unknown) => e instanceof TsbpfError && e.reason === 'ksym-missing');
    console.log('  (no xt_recseq in the kernel\'s BTF here (x_tables not loaded): refused as ksym-missing)');
    return;
  }
  if (where === 'vmlinux' && !kallsymsHas('xt_recseq')) {
    // built in, but the kernel resolves a vmlinux variable's address through kallsyms
    assert.throws(() => Collection.loadFile(ksyms, { programs: ['ksym_module'] }), /ksym_module/);
    console.log('  (xt_recseq is built in here and not in /proc/kallsyms: refused, as expected)');
    return;
  }
  const before = fds();
  const c = Collection.loadFile(ksyms, { programs: ['ksym_module'] });
  try {
    const p = c.programs.get('ksym_module')!;
    assert.equal(p.kernelRefs.map((r) => [r.kind, r.name, r.source]), [['ksym', 'xt_recseq', where]]);
    assert.is(p.testRun({ ctx: new Uint8Array(16) }).retval, 7, 'read this CPU\'s xt_recseq (an even sequence outside a table update)');
  } finally { c.close(); }
  assert.is(fds(), before);
});

test('__weak kfuncs: bpf_ksym_exists of an absent one is false and its call is dead (any kernel); of one the kernel has, true (6.4+)', () => {
  const c = Collection.loadFile(weak);
  try {
    const p = c.programs.get('weak_absent')!;
    assert.is(p.testRun({ data: pkt() }).retval, 100, 'the absent kfunc was not called');
    assert.equal(p.kernelRefs.map((r) => [r.name, r.source]), [['tsbpf_no_such_kfunc', 'absent (weak)']]);
  } finally { c.close(); }
  const probe = kfuncAddressProbe();
  const has = kernelFuncHome('bpf_ct_release');
  if (!probe.ok && has) {
    // before Linux 6.4 the verifier refuses the address of a kfunc, whoever loads it
    assert.throws(() => Collection.loadFile(weak, { programs: ['weak_present'] }), (e: Error) => e instanceof VerifierError && /isn't KIND_VAR/.test(e.log));
    console.log(`  (${probe.why})`);
    return;
  }
  // (a kernel without bpf_ct_release at all, such as 5.10: its address is 0, nothing to refuse)
  const d = Collection.loadFile(weak, { programs: ['weak_present'] });
  try {
    const p = d.programs.get('weak_present')!;
    assert.is(p.testRun({ data: pkt() }).retval, has ? 101 : 100, 'bpf_ksym_exists(bpf_ct_release)');
    assert.equal(p.kernelRefs.map((r) => [r.name, r.source]), [['bpf_ct_release', has ?? 'absent (weak)']]);
  } finally { d.close(); }
});

test('an unguarded call of an absent __weak kfunc: the verifier refuses it, and the error names the kfunc', () => {
  assert.throws(() => Collection.loadFile(weak, { programs: ['weak_unguarded'] }),
    (e: Error) => e instanceof VerifierError && /call unknown#2002000000/.test(e.message) && /__weak kfunc 'tsbpf_no_such_kfunc', which this kernel does not have: guard the call with bpf_ksym_exists/.test(e.message));
});

test('freplace: new_pick replaces pick in a loaded program while its link is open', () => {
  const a = Collection.loadFile(freplace);
  try {
    const entry = a.programs.get('entry')!;
    assert.equal([...a.programs.keys()], ['entry'], "the '?' programs are not loaded by default");
    assert.is(entry.testRun({ data: pkt() }).retval, 164, 'packet length + 100');
    if (!tramp.ok) {
      const ids = ownIds('prog');
      assert.throws(() => Collection.loadFile(freplace, { programs: ['new_pick'], attachTargets: { new_pick: entry } }),
        (e: Error) => e instanceof TsbpfError && /new_pick.*EPERM.*trampoline/.test(e.message));
      assert.equal(ownIds('prog'), ids);
      return;
    }
    // no `programs`: new_pick (SEC("?freplace/pick")) is loaded because it was given a target
    const b = Collection.loadFile(freplace, { attachTargets: { new_pick: entry } });
    try {
      const np = b.programs.get('new_pick')!;
      const ref = np.kernelRefs.find((r) => r.kind === 'attach')!;
      assert.is(ref.name, 'pick');
      // bpf_prog_info reports attach_btf_id only where the kernel's struct has the field (not 5.10)
      if (kernelStructHasMember('bpf_prog_info', 'attach_btf_id')) assert.is(np.info().attachBtfId, ref.btfId, 'attach_btf_id = pick in the target program\'s BTF');
      else console.log('  (freplace: this kernel\'s bpf_prog_info has no attach_btf_id to compare; the replaced return value below is the check)');
      const link = np.attach();
      try {
        assert.is(entry.testRun({ data: pkt() }).retval, 142, 'pick() now returns 42');
      } finally { link.close(); }
      assert.is(entry.testRun({ data: pkt() }).retval, 164, 'the original pick() is back');
      const again = np.attach(); // the kernel keeps the load-time target for one attach only: BPF_LINK_CREATE names it
      try {
        assert.is(entry.testRun({ data: pkt() }).retval, 142, 'attached a second time');
      } finally { again.close(); }
      assert.is(entry.testRun({ data: pkt() }).retval, 164);
    } finally { b.close(); }
  } finally { a.close(); }
});

test('fexit on a BPF function of another program sees its return value', () => {
  const a = Collection.loadFile(freplace);
  try {
    const entry = a.programs.get('entry')!;
    if (!tramp.ok) {
      assert.throws(() => Collection.loadFile(freplace, { programs: ['after_pick'], attachTargets: { after_pick: { program: entry, function: 'pick' } } }),
        (e: Error) => e instanceof TsbpfError && /after_pick.*EPERM.*trampoline/.test(e.message));
      return;
    }
    const b = Collection.loadFile(freplace, { programs: ['after_pick'], attachTargets: { after_pick: { program: entry, function: 'pick' } } });
    try {
      const seen = () => (b.maps.get('.data')!.lookup(0) as Record<string, number>)['seen_ret'];
      assert.is(seen(), -1);
      const link = b.programs.get('after_pick')!.attach();
      try {
        assert.is(entry.testRun({ data: pkt() }).retval, 164);
        assert.is(seen(), 64, 'fexit recorded pick() = the packet length');
      } finally { link.close(); }
      assert.throws(() => b.programs.get('after_pick')!.attach(), /attached once already: the kernel keeps its target for one attach only/);
    } finally { b.close(); }
  } finally { a.close(); }
});

test('freplace mistakes are refused before anything reaches the verifier, naming the program and the fix', () => {
  const a = Collection.loadFile(freplace);
  try {
    const entry = a.programs.get('entry')!;
    const ids = ownIds('prog');
    assert.throws(() => Collection.loadFile(freplace, { programs: ['new_pick'] }), /freplace program 'new_pick'.*LoadOptions\.attachTargets/);
    assert.throws(() => Collection.loadFile(freplace, { programs: ['new_pick'], attachTargets: { new_pick: { program: entry, function: 'nope' } } }),
      /no function 'nope' in its BTF \(it has: .*pick/);
    assert.throws(() => Collection.loadFile(freplace, { attachTargets: { entry: entry } }), /'entry' \(xdp\) was given a target program, but only freplace, fentry and fexit/);
    assert.throws(() => Collection.loadFile(freplace, { attachTargets: { missing: entry } }), /attachTargets names program 'missing', which is not in the object/);
    assert.throws(() => Collection.loadFile(freplace, { programs: ['entry'], attachTargets: { new_pick: entry } }), /attachTargets names program 'new_pick', which is not among the programs to load \(entry\)/);
    assert.equal(ownIds('prog'), ids, 'no program left behind');
  } finally { a.close(); }
});

uvuTest.run();
