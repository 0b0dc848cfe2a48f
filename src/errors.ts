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

export class TsbpfError extends Error {
  readonly file?: string;
  readonly section?: string;
  readonly symbol?: string;
  readonly offset?: number;
  readonly typeId?: number;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(detail: string, ctx: ErrorContext = {}, options?: { cause?: unknown }) {
    const loc = where(ctx);
    super(loc ? `${loc}: ${detail}` : detail, options);
    this.name = new.target.name;
    this.detail = detail;
    this.file = ctx.file;
    this.section = ctx.section;
    this.symbol = ctx.symbol;
    this.offset = ctx.offset;
    this.typeId = ctx.typeId;
  }

  /** The same error with more context filled in (fields already set win). */
  static wrap(err: unknown, ctx: ErrorContext): unknown {
    if (!(err instanceof TsbpfError)) return err;
    const merged: ErrorContext = {
      file: err.file ?? ctx.file,
      section: err.section ?? ctx.section,
      symbol: err.symbol ?? ctx.symbol,
      offset: err.offset ?? ctx.offset,
      typeId: err.typeId ?? ctx.typeId,
    };
    const Ctor = err.constructor as new (d: string, c: ErrorContext, o?: { cause?: unknown }) => TsbpfError;
    return new Ctor(err.detail, merged, { cause: err.cause });
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
