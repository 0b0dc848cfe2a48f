/**
 * Every error tsbpf throws is a TsbpfError. Subclasses say which layer found the
 * problem; the context says where (file, section, symbol, byte offset).
 */
export interface ErrorContext {
  /** Path of the object (or '<buffer>' when parsed from bytes). */
  file?: string;
  /** ELF section name, e.g. '.maps' or 'xdp'. */
  section?: string;
  /** Symbol (program, map or variable) involved. */
  symbol?: string;
  /** Byte offset: in the file, or inside `section` when a section is named. */
  offset?: number;
  /** BTF type id involved. */
  typeId?: number;
}

function where(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.file !== undefined) parts.push(ctx.file);
  if (ctx.section !== undefined) parts.push(`section ${ctx.section}`);
  if (ctx.symbol !== undefined) parts.push(`symbol ${ctx.symbol}`);
  if (ctx.typeId !== undefined) parts.push(`type id ${ctx.typeId}`);
  if (ctx.offset !== undefined) parts.push(`offset ${ctx.offset} (0x${ctx.offset.toString(16)})`);
  return parts.join(', ');
}

/**
 * Why a TsbpfError itself (not a subclass) was thrown, where code may want to act on it
 * instead of reading the message. Subclasses type their own `reason` (MountError,
 * EventsError); see README "Errors".
 */
export type TsbpfErrorReason =
  /** A struct_ops program implements only members the kernel's struct lacks (libbpf leaves it out). */
  | 'struct-ops-member-missing'
  /** BPF_PROG_LOAD of a BPF trampoline program (fentry, fexit, fmod_ret, freplace, lsm) refused with EPERM before verification, although the process is root. */
  | 'trampoline-refused'
  /** A `.struct_ops.link` map needs struct_ops links (BPF_F_LINK, Linux 6.4+), which the kernel lacks. */
  | 'struct-ops-link-unsupported'
  /** Registering a struct_ops map failed with EEXIST: one of that name is registered already. */
  | 'struct-ops-name-taken'
  /** A name from the object (program, map) would not stay one file name inside the directory a path is built in ('/', NUL, '.', '..'). */
  | 'unsafe-name'
  /** A path given for a pin (BPF_OBJ_PIN) or to open one (BPF_OBJ_GET), or a directory pin or log paths are built in (LoadOptions.pinRoot), holds a NUL character: the kernel would read another path. */
  | 'nul-in-path'
  /** A program calls (or takes the address of) a kfunc that is in neither vmlinux's nor any module's BTF, and it is not __weak. */
  | 'kfunc-missing'
  /** A program calls a plain `extern` function (not `__ksym`, not __weak) that no object linked into this one defines and no kernel BTF has: it needs static linking (bpftool gen object). */
  | 'extern-unresolved'
  /** A typed ksym that is not a variable in the kernel's BTF. */
  | 'ksym-missing'
  /** The function or type a tracing / lsm / iter program attaches to is not in the kernel's BTF. */
  | 'attach-target-missing'
  /** A program to load has no program type (its section is not a SEC() name tsbpf knows) and none was set (libbpf: "missing BPF prog type"). */
  | 'missing-program-type'
  /** A map whose estimated kernel memory is over LoadOptions.limits.maxMapBytes (CLI --max-map-bytes): not created. */
  | 'map-too-large';

const CONTEXT_KEYS = ['file', 'section', 'symbol', 'offset', 'typeId'] as const;

export class TsbpfError extends Error {
  readonly file?: string;
  readonly section?: string;
  readonly symbol?: string;
  readonly offset?: number;
  readonly typeId?: number;
  /** The message without the location prefix. */
  readonly detail: string;
  /**
   * Why, as a stable name for code that acts on it (TsbpfErrorReason here; subclasses
   * narrow it to their own names); undefined where the class says enough.
   */
  readonly reason?: string;

  /** `reason` is one of TsbpfErrorReason: a subclass with reasons of its own sets its own (typed) field. */
  constructor(detail: string, ctx: ErrorContext = {}, options?: { cause?: unknown; reason?: TsbpfErrorReason }) {
    const loc = where(ctx);
    super(loc ? `${loc}: ${detail}` : detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = detail;
    this.file = ctx.file;
    this.section = ctx.section;
    this.symbol = ctx.symbol;
    this.offset = ctx.offset;
    this.typeId = ctx.typeId;
    if (options?.reason !== undefined) this.reason = options.reason;
  }

  /**
   * Fills in the context this error does not have yet (fields already set win), on this
   * same instance: its class and every field (a VerifierError's log, a SyscallError's
   * errno) stay; the message is rebuilt with the new location.
   */
  addContext(ctx: ErrorContext): this {
    const self = this as { -readonly [K in keyof ErrorContext]: ErrorContext[K] };
    let changed = false;
    for (const k of CONTEXT_KEYS) {
      if (self[k] === undefined && ctx[k] !== undefined) { (self as Record<string, unknown>)[k] = ctx[k]; changed = true; }
    }
    if (!changed) return this;
    const before = this.message;
    const loc = where(this);
    this.message = loc ? `${loc}: ${this.detail}` : this.detail;
    // V8 writes the stack's first line when `stack` is first read: rewrite it if that was before
    const stack = this.stack;
    const head = `${this.name}: ${before}`;
    if (stack?.startsWith(head)) this.stack = `${this.name}: ${this.message}${stack.slice(head.length)}`;
    return this;
  }

  /** `err` with more context filled in when it is a TsbpfError (the same instance, see addContext); anything else as it is. */
  static wrap(err: unknown, ctx: ErrorContext): unknown {
    return err instanceof TsbpfError ? err.addContext(ctx) : err;
  }
}

/** Malformed or unsupported ELF: header, sections, symbols, relocations. */
export class ElfError extends TsbpfError {}
/** Malformed BTF or .BTF.ext. */
export class BtfError extends TsbpfError {}
/** Undecodable instruction bytes. */
export class AsmError extends TsbpfError {}
/** The object is well-formed ELF but its contents make no sense as a BPF collection. */
export class SpecError extends TsbpfError {}
