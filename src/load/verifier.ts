/**
 * Program loading with the verifier log strategy of libbpf / cilium: first without a log
 * (fast), then on failure with log level 1 (or the level asked for), growing the buffer
 * on ENOSPC; a rejection becomes a VerifierError naming the program, the failing
 * instruction and its C source line.
 */
import { disassemble, rawOffsets, slotToIndex, type Instruction } from '../asm/index.js';
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { ProgramSpec } from '../spec/types.js';
import { cString, progLoadDetailed, SyscallError, type ProgLoadLog, type ProgLoadOptions } from '../sys/index.js';
import { explainEperm } from './memlock.js';

const MIN_LOG = 64 * 1024;
const NO_LOG: ProgLoadLog = { level: 0, buf: null };
const MAX_LOG = 256 * 1024 * 1024 - 1; // the kernel's limit (UINT_MAX >> 2 since 5.x; 16M before)

/** What the verifier said about a program it rejected. */
export interface Verdict {
  /** The program's name. */
  program: string;
  /** The whole verifier log. */
  log: string;
  /** The errno the kernel returned (EACCES, EINVAL, ...). */
  errnoName: string;
  /** Slot of the instruction the verifier stopped at, when the log says. */
  insn?: number;
  /** `file:line: source` of that instruction, from line_info. */
  source?: string;
  /**
   * What tsbpf knows about why, beyond the log: the instruction was poisoned by a CO-RE
   * relocation ("instruction 5 was poisoned by CO-RE relocation #0 (...)"), a call of an
   * absent __weak kfunc, a map that was not created.
   */
  explanation?: string;
}

/** The verifier rejected a program: BPF_PROG_LOAD failed and the log says why. */
export class VerifierError extends TsbpfError implements Verdict {
  readonly program: string;
  readonly log: string;
  readonly errnoName: string;
  readonly insn?: number;
  readonly source?: string;
  readonly explanation?: string;

  constructor(detail: string, ctx: ErrorContext, verdict: Verdict, options?: { cause?: unknown }) {
    super(detail, ctx, options);
    this.program = verdict.program;
    this.log = verdict.log;
    this.errnoName = verdict.errnoName;
    if (verdict.insn !== undefined) this.insn = verdict.insn;
    if (verdict.source !== undefined) this.source = verdict.source;
    if (verdict.explanation !== undefined) this.explanation = verdict.explanation;
  }

  /** The last `n` non-empty lines of the log. */
  tail(n = 10): string[] {
    return this.log.split('\n').filter((l) => l.trim() !== '').slice(-n);
  }
}


/** `file:line: text` of the line_info record covering `slot`. */
export function sourceLine(p: ProgramSpec, slot: number): string | undefined {
  let best: ProgramSpec['lineInfo'][number] | undefined;
  for (const l of p.lineInfo) if (l.insnOff <= slot && (!best || l.insnOff >= best.insnOff)) best = l;
  if (!best) return undefined;
  return `${best.fileName}:${best.lineNum}: ${best.line.trim()}`;
}

/** The instruction the verifier was looking at when it gave up: the last `N: (..)` line. */
export function failingSlot(log: string): number | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(lines[i]!);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Programs run through a BPF trampoline (tp_btf and iter are 'tracing' too, but need none). */
const usesTrampoline = (p: ProgramSpec) =>
  p.type === 'ext' || p.type === 'lsm' || (p.type === 'tracing' && p.attachType !== 'trace_raw_tp' && p.attachType !== 'trace_iter');

/** EPERM as root for a trampoline program, before any log: the kernel does not allow them (throws that). */
function trampolineRefusal(e: SyscallError, p: ProgramSpec, ctx: ErrorContext): void {
  if (e.code === 'EPERM' && usesTrampoline(p) && process.geteuid?.() === 0) {
    throw new TsbpfError(`BPF_PROG_LOAD of ${p.type} program '${p.name}' refused with EPERM before verification, although this process is root: the kernel does not allow BPF trampoline programs (fentry, fexit, fmod_ret, freplace, lsm), e.g. in lockdown mode or built without them`, ctx, { cause: e, reason: 'trampoline-refused' });
  }
}

/** EPERM that the locked-memory limit explains (kernels before 5.11): throws the MemlockError. */
function memlockRefusal(e: SyscallError, ctx: ErrorContext): void {
  const x = explainEperm(e);
  if (x !== e) throw TsbpfError.wrap(x, ctx);
}

export interface LoadLogOptions {
  /** Verifier log level for the retry (default 1), or for the first try with `alwaysLog`. */
  logLevel?: number;
  /** First log buffer size (default 64 KiB); doubled on ENOSPC. */
  logSize?: number;
  /** Ask for the log on the first try too (and keep it on success). */
  alwaysLog?: boolean;
}

/** How often a call the verifier gave up on (EAGAIN: a signal arrived) is tried again, as libbpf tries BPF_PROG_LOAD. */
const EAGAIN_TRIES = 5;

/**
 * `call`'s result, tried again (up to EAGAIN_TRIES more times) while it throws a
 * SyscallError EAGAIN: an interrupted verification is not an answer. Any other error, or
 * the last EAGAIN, is thrown.
 */
export function retryEagain<T>(call: () => T): T {
  for (let i = 0; ; i++) {
    try { return call(); } catch (e) {
      if (i < EAGAIN_TRIES && e instanceof SyscallError && e.code === 'EAGAIN') continue;
      throw e;
    }
  }
}

/**
 * BPF_PROG_LOAD with the log strategy. Returns the fd and (with alwaysLog) the log.
 * A SyscallError that is not a verdict (EPERM, E2BIG, ...) is rethrown as it is.
 * `insns`: the instructions as sent (after CO-RE and externs), to name the failing one.
 */
export function loadWithLog(
  o: ProgLoadOptions, p: ProgramSpec, opts: LoadLogOptions, ctx: ErrorContext,
  explain?: (log: string) => string | undefined, insns: readonly Instruction[] = p.instructions,
): { fd: number; log?: string } {
  const level = opts.logLevel ?? 1;
  const attempt = (log: ProgLoadLog) => retryEagain(() => progLoadDetailed(o, log));
  if (!opts.alwaysLog) {
    try {
      return { fd: attempt(NO_LOG).fd };
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      memlockRefusal(e, ctx);
      trampolineRefusal(e, p, ctx);
      if (e.code === 'EPERM' || e.code === 'E2BIG' || e.code === 'EFAULT' || e.code === 'ENOMEM') throw TsbpfError.wrap(e, ctx);
    }
  }
  let size = Math.max(opts.logSize ?? MIN_LOG, 256);
  for (;;) {
    const buf = new Uint8Array(size);
    try {
      const r = attempt({ level, buf });
      return { fd: r.fd, log: cString(buf, 'utf8') };
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === 'ENOSPC' && size < MAX_LOG) { size = Math.min(size * 4, MAX_LOG); continue; }
      // still interrupted after the retries (a signal storm): the log is not a verdict
      if (e.code === 'EAGAIN') throw TsbpfError.wrap(e, ctx);
      const log = cString(buf, 'utf8');
      if (!log) { memlockRefusal(e, ctx); trampolineRefusal(e, p, ctx); throw TsbpfError.wrap(e, ctx); }
      const slot = failingSlot(log);
      const insn = slot === undefined ? undefined : insns[slotToIndex(rawOffsets(insns), slot)];
      const source = slot === undefined ? undefined : sourceLine(p, slot);
      const tail = log.split('\n').filter((l) => l.trim()).slice(-6).map((l) => `    ${l}`).join('\n');
      const why = explain?.(log);
      const location = (slot === undefined ? '' : `\n  at instruction ${slot}${insn ? `: ${disassemble(insn)}` : ''}${source ? `\n  source: ${source}` : ''}`) + (why ? `\n  ${why}` : '');
      throw new VerifierError(
        `verifier rejected program '${p.name}' (${e.code})${location}\n  verifier log (last lines):\n${tail}`,
        ctx,
        { program: p.name, log, errnoName: e.code, ...(slot !== undefined ? { insn: slot } : {}), ...(source !== undefined ? { source } : {}), ...(why ? { explanation: why } : {}) },
        { cause: e },
      );
    }
  }
}
