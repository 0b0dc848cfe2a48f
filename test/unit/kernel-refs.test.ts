// How kernel references are encoded when they live in a module, without a kernel: a
// KernelTypes whose lookups answer "module nf_conntrack / x_tables, BTF fd 77". The VM
// matrix runs the same paths against real Debian kernels (test/kernel/btf-targets.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, OP_CALL, OP_LD_IMM64 } from '../../src/asm/index.js';
import { Btf } from '../../src/btf/index.js';
import type { BtfKindName } from '../../src/btf/types.js';
import type { ErrorContext } from '../../src/errors.js';
import { ABSENT_WEAK, attachBtf, explainWeakKfunc, KernelTypes, POISON_CALL_KFUNC_BASE, resolveExterns, type KernelRef } from '../../src/load/kernel-refs.js';
import { loadCollectionSpec } from '../../src/spec/collection.js';
import type { Fd } from '../../src/sys/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);
const base = Btf.parse(new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]));

/** Every name is found in `home` with id 1000 + a counter; module BTF fds are 77 and 78. */
class FakeKernel extends KernelTypes {
  private next = 1000;
  readonly ids = new Map<string, number>();
  readonly opened: string[] = [];
  private readonly fds = new Map<string, Fd>();
  constructor(private readonly home: (name: string) => string | undefined) { super(); }
  override find(name: string, _kind: BtfKindName) {
    const source = this.home(name);
    if (source === undefined) return undefined;
    if (!this.ids.has(name)) this.ids.set(name, this.next++);
    return { btf: base, id: this.ids.get(name)!, source };
  }
  override moduleFd(name: string, _ctx: ErrorContext): Fd {
    if (!this.fds.has(name)) {
      this.opened.push(name);
      this.fds.set(name, { value: 76 + this.opened.length } as unknown as Fd); // one Fd per module, as the real one caches
    }
    return this.fds.get(name)!;
  }
}

test('kfuncs in a module: BPF_PSEUDO_KFUNC_CALL with imm = BTF id and off = index into fd_array, whose slot 0 stays unused', () => {
  const p = loadCollectionSpec(obj('kfuncs')).programs.get('ct_lookup')!;
  const k = new FakeKernel(() => 'nf_conntrack');
  const refs: KernelRef[] = [];
  const out = resolveExterns(p, p.instructions, k, 'kfuncs.bpf.o', refs);
  const calls = out.filter((i) => i.opcode === OP_CALL && i.src === BPF_PSEUDO_KFUNC_CALL);
  assert.is(calls.length, 2);
  assert.equal(calls.map((i) => [i.imm, i.off]), [[k.ids.get('bpf_xdp_ct_lookup'), 1], [k.ids.get('bpf_ct_release'), 1]]);
  assert.equal(Array.from(k.fdArray()!), [0, 77], 'one module, one fd_array slot after the unused 0');
  assert.equal(refs.map((r) => [r.kind, r.name, r.source]), [['kfunc', 'bpf_xdp_ct_lookup', 'nf_conntrack'], ['kfunc', 'bpf_ct_release', 'nf_conntrack']]);
  assert.ok(out.every((i) => i.reference?.kind !== 'extern'), 'no extern left for the map patcher');
});

test('kfuncs in two modules get two fd_array slots; vmlinux ones off 0 and no fd_array', () => {
  const p = loadCollectionSpec(obj('kfuncs')).programs.get('ct_lookup')!;
  const two = new FakeKernel((n) => (n === 'bpf_ct_release' ? 'other_mod' : 'nf_conntrack'));
  const calls2 = resolveExterns(p, p.instructions, two, 'x').filter((i) => i.opcode === OP_CALL && i.src === BPF_PSEUDO_KFUNC_CALL);
  assert.equal(calls2.map((i) => i.off), [1, 2]);
  assert.equal(Array.from(two.fdArray()!), [0, 77, 78]);
  const vm = new FakeKernel(() => 'vmlinux');
  const calls = resolveExterns(p, p.instructions, vm, 'x').filter((i) => i.opcode === OP_CALL && i.src === BPF_PSEUDO_KFUNC_CALL);
  assert.equal(calls.map((i) => i.off), [0, 0]);
  assert.is(vm.fdArray(), undefined);
  assert.equal(vm.opened, [], 'no module BTF opened');
});

test('a typed ksym in a module: ld_imm64 BPF_PSEUDO_BTF_ID, BTF id in the first half, the module BTF fd in the second', () => {
  const p = loadCollectionSpec(obj('ksyms')).programs.get('ksym_module')!;
  const k = new FakeKernel(() => 'x_tables');
  const refs: KernelRef[] = [];
  const out = resolveExterns(p, p.instructions, k, 'ksyms.bpf.o', refs);
  const ld = out.filter((i) => i.opcode === OP_LD_IMM64 && i.src === BPF_PSEUDO_BTF_ID);
  assert.is(ld.length, 1);
  const id = k.ids.get('xt_recseq')!;
  assert.is(ld[0]!.imm, id);
  assert.is(ld[0]!.imm64, (77n << 32n) | BigInt(id));
  assert.equal(refs, [{ kind: 'ksym', name: 'xt_recseq', source: 'x_tables', btfId: id }]);
  const vm = new FakeKernel(() => 'vmlinux');
  const ld0 = resolveExterns(p, p.instructions, vm, 'x').filter((i) => i.opcode === OP_LD_IMM64 && i.src === BPF_PSEUDO_BTF_ID);
  assert.is(ld0[0]!.imm64, BigInt(vm.ids.get('xt_recseq')!), 'vmlinux: second half 0');
});

test('an fentry target in a module: attach_btf_id in its BTF and attach_btf_obj_fd = its fd', () => {
  const p = loadCollectionSpec(obj('kfuncs')).programs.get('on_ct_lookup')!;
  const k = new FakeKernel(() => 'nf_conntrack');
  const a = attachBtf(p, k, 'kfuncs.bpf.o');
  assert.is(a.attachBtfId, k.ids.get('bpf_xdp_ct_lookup'));
  assert.is(a.attachBtfObjFd?.value, 77);
  assert.is(a.attachProgFd, undefined);
  const v = attachBtf(p, new FakeKernel(() => 'vmlinux'), 'x');
  assert.is(v.attachBtfObjFd, undefined);
});

test('__weak kfuncs: the address of one in a module is BPF_PSEUDO_BTF_ID + module fd; an absent one is 0, and its call is poisoned as libbpf does', () => {
  const spec = loadCollectionSpec(obj('kfunc_weak'));
  const k = new FakeKernel((n) => (n === 'bpf_ct_release' ? 'nf_conntrack' : undefined));
  const present = spec.programs.get('weak_present')!;
  const ld = resolveExterns(present, present.instructions, k, 'kfunc_weak.bpf.o').find((i) => i.opcode === OP_LD_IMM64)!;
  assert.equal([ld.src, ld.imm64], [BPF_PSEUDO_BTF_ID, (77n << 32n) | BigInt(k.ids.get('bpf_ct_release')!)], '&bpf_ct_release');
  const absent = spec.programs.get('weak_absent')!;
  const refs: KernelRef[] = [];
  const out = resolveExterns(absent, absent.instructions, k, 'kfunc_weak.bpf.o', refs);
  const ld0 = out.find((i) => i.opcode === OP_LD_IMM64)!;
  assert.equal([ld0.src, ld0.imm, ld0.imm64], [0, 0, 0n], '&tsbpf_no_such_kfunc = NULL');
  const call = out.find((i) => i.opcode === OP_CALL)!;
  assert.equal([call.src, call.imm, call.off], [0, POISON_CALL_KFUNC_BASE, 0], 'a helper call no kernel has: call unknown#2002000000');
  assert.equal(refs.map((r) => [r.name, r.source]), [['tsbpf_no_such_kfunc', ABSENT_WEAK]]);
  assert.match(explainWeakKfunc(refs, '1: (85) call unknown#2002000000\ninvalid func unknown#2002000000')!, /__weak kfunc 'tsbpf_no_such_kfunc'/);
  assert.is(explainWeakKfunc(refs, 'R1 invalid mem access'), undefined);
});

test('two absent __weak kfuncs get poison numbers 0 and 1 in program order, and the explanation maps each back', () => {
  const p = loadCollectionSpec(obj('kfuncs')).programs.get('ct_lookup')!;
  // the same calls, declared __weak
  const weakened = p.instructions.map((i) => (i.reference?.kind === 'extern' ? { ...i, reference: { ...i.reference, weak: true } } : i));
  const refs: KernelRef[] = [];
  const out = resolveExterns(p, weakened, new FakeKernel(() => undefined), 'x', refs);
  assert.equal(out.filter((i) => i.opcode === OP_CALL && i.src === 0 && i.imm >= POISON_CALL_KFUNC_BASE).map((i) => i.imm - POISON_CALL_KFUNC_BASE), [0, 1]);
  assert.match(explainWeakKfunc(refs, 'invalid func unknown#2002000000')!, /'bpf_xdp_ct_lookup'/);
  assert.match(explainWeakKfunc(refs, 'invalid func unknown#2002000001')!, /'bpf_ct_release'/);
  assert.is(explainWeakKfunc(refs, 'invalid func unknown#2002000002'), undefined);
});

test('a kfunc that is neither in the kernel nor __weak is an error naming it', () => {
  const p = loadCollectionSpec(obj('kfuncs')).programs.get('ct_lookup')!;
  assert.throws(() => resolveExterns(p, p.instructions, new FakeKernel(() => undefined), 'kfuncs.bpf.o'),
    /kfuncs\.bpf\.o, section xdp, symbol ct_lookup: program 'ct_lookup' calls kfunc 'bpf_xdp_ct_lookup' \(instruction \d+\), which the kernel's BTF does not have/);
});

test.run();
