/**
 * A loaded program: Program owns one fd and has close(). Attaching it is src/link's
 * work (load never imports link): `program.attach()` is installed there.
 */
import type { ProgTypeName } from '../kernel/enums.js';
import type { ProgramSpec } from '../spec/types.js';
import { Fd, progInfo, progTestRun, type ProgInfo, type ProgTestRunResult } from '../sys/index.js';
import { Pinnable } from './pin.js';
import type { KernelRef } from './kernel-refs.js';

export interface TestRunOptions {
  data?: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  flags?: number;
  /** Size of the data_out / ctx_out buffers (defaults: data length + 256 / ctx length; 0 for types whose test run has no output). */
  dataSizeOut?: number;
  ctxSizeOut?: number;
}

/** Program types whose BPF_PROG_TEST_RUN takes only ctx_in (and refuses any output buffer). */
const CTX_IN_ONLY: ReadonlySet<ProgTypeName> = new Set<ProgTypeName>(['raw_tracepoint', 'raw_tracepoint_writable', 'tracing', 'syscall']);

export class Program extends Pinnable {
  readonly name: string;
  readonly spec: ProgramSpec;
  readonly type: ProgTypeName;
  /** The verifier log, when the load asked for it (alwaysLog). */
  readonly verifierLog?: string;
  /** Milliseconds BPF_PROG_LOAD took (all attempts). */
  readonly loadMs: number;
  /** Where its kfuncs, typed ksyms and attach target were found (vmlinux, a module, a target program). */
  readonly kernelRefs: readonly KernelRef[];
  /** freplace / fentry / fexit on a BPF function: the target program (by id) and function (BTF id in it). */
  target?: { progId: number; btfId: number };

  constructor(spec: ProgramSpec & { type: ProgTypeName }, fd: Fd, loadMs: number, log?: string, kernelRefs: readonly KernelRef[] = []) {
    super(fd);
    this.kernelRefs = kernelRefs;
    this.name = spec.name;
    this.spec = spec;
    this.type = spec.type;
    this.loadMs = loadMs;
    if (log !== undefined) this.verifierLog = log;
  }

  /** BPF_PROG_TEST_RUN: { retval, duration (ns per run), dataOut, ctxOut }. */
  testRun(o: TestRunOptions = {}): ProgTestRunResult {
    const noOut = CTX_IN_ONLY.has(this.type);
    const dataSizeOut = o.dataSizeOut ?? (noOut ? 0 : undefined);
    const ctxSizeOut = o.ctxSizeOut ?? (noOut && this.type !== 'syscall' ? 0 : undefined);
    return progTestRun(this.fd, {
      data: o.data ?? null, ctx: o.ctx ?? null, repeat: o.repeat ?? 0, flags: o.flags ?? 0,
      ...(dataSizeOut !== undefined ? { dataSizeOut } : {}), ...(ctxSizeOut !== undefined ? { ctxSizeOut } : {}),
    });
  }

  /** The kernel's view: ids, tag, verified instructions, xlated / jited length, map ids. */
  info(): ProgInfo { return progInfo(this.fd); }

  close(): void { this.fd.close(); }
}
