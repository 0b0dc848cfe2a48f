/**
 * uprobes and uretprobes on an executable or shared library: by symbol (from .symtab,
 * else .dynsym) or by file offset, optionally for one process only. Through the uprobe
 * PMU (perf_event_open, config1 = path, config2 = file offset; Linux 4.17) or, without it,
 * a legacy uprobe_events entry in tracefs; then a BPF link or the perf ioctls
 * (perf-event.ts). uprobe.multi: many functions of one binary in one link (Linux 6.6).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { ElfError } from '../errors.js';
import { findFunction, matchFunctions, readExecutable, type ExecSection, type Executable, type ReadAt } from '../elf/executable.js';
import type { Program } from '../load/program.js';
import { BPF_F_UPROBE_MULTI_RETURN, Fd, linkCreateUprobeMulti, perfEventOpen } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { probePmu, uprobeMultiSupported, type ProbePmu } from './features.js';
import { BpfLink, type Link } from './link.js';
import { attachLegacyProbe, attachToPerfEvent, type ProbeAttachMode } from './perf-event.js';
import { hasProbeEvents } from './tracefs.js';

/** `{ binary, symbol | offset, pid?, retprobe? }` */
export interface UprobeTarget {
  /** A path, a library name found like the dynamic linker does ('libc.so.6'), or a program on PATH. */
  binary: string;
  /** The function; `offset` is then added to its start. */
  symbol?: string;
  /** A file offset (no symbol), or an offset from the symbol's start. */
  offset?: number;
  /** Only this process (default: every process that runs the binary). */
  pid?: number;
  retprobe?: boolean;
  attachMode?: ProbeAttachMode;
  /** bpf_get_attach_cookie() in the program (needs a BPF link). */
  cookie?: bigint;
  /**
   * File offset of a 2-byte reference counter (a USDT semaphore) the kernel increments
   * while the probe is attached (uprobe ref_ctr_offset, Linux 4.20).
   */
  refCtrOffset?: number;
}

/** `{ binary, symbols, pid?, retprobe? }`: uprobe.multi with a glob over function names. */
export interface UprobeMultiTarget {
  binary: string;
  /** A glob ('tsbpf_*') or a list of function names. */
  symbols: string | readonly string[];
  pid?: number;
  retprobe?: boolean;
}

function archLibDirs(): string[] {
  const triple = process.arch === 'x64' ? 'x86_64-linux-gnu' : process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'riscv64' ? 'riscv64-linux-gnu' : undefined;
  return triple ? [`/lib/${triple}`, `/usr/lib/${triple}`] : [];
}

/**
 * The path of `binary` as libbpf resolves it: a path when it has a '/', else a shared
 * library ('.so' in the name) in LD_LIBRARY_PATH, /usr/lib64, /usr/lib, /lib64, /lib and
 * the architecture's directories, else an executable on PATH.
 */
export function resolveBinary(binary: string): string {
  if (binary.includes('/')) return binary;
  const isLib = binary.endsWith('.so') || binary.includes('.so.');
  const dirs = isLib
    ? [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib64', '/usr/lib', '/lib64', '/lib', ...archLibDirs()]
    : (process.env.PATH ?? '/usr/bin:/bin').split(':');
  for (const d of dirs.filter(Boolean)) {
    const p = path.join(d, binary);
    if (existsSync(p)) return p;
  }
  throw new AttachError(`cannot find ${isLib ? 'library' : 'program'} '${binary}' (searched ${dirs.filter(Boolean).join(', ')})`, { file: binary }, { reason: 'not-found', hook: 'uprobe' });
}

const exeCache = new Map<string, { key: string; exe: Executable }>();

/** The binary's ELF headers and symbols, read once per file version (path, inode, mtime, size). */
export function openExecutable(file: string, hook = 'uprobe'): Executable {
  let stat;
  try { stat = statSync(file); } catch (e) {
    throw new AttachError(`cannot probe ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file }, { reason: 'not-found', hook, cause: e });
  }
  if (!stat.isFile()) throw new AttachError(`cannot probe ${file}: not a regular file`, { file }, { reason: 'not-elf', hook });
  const key = `${stat.dev}:${stat.ino}:${stat.mtimeMs}:${stat.size}`;
  const hit = exeCache.get(file);
  if (hit && hit.key === key) return hit.exe;
  const fd = openSync(file, 'r');
  try {
    const read = readerOf(fd, stat.size);
    let exe: Executable;
    try {
      exe = readExecutable(read, file);
      exe.functions(); // read the symbols now, while the file is open
    } catch (e) {
      if (e instanceof ElfError) throw new AttachError(`cannot probe ${file}: ${e.detail}`, { file }, { reason: 'not-elf', hook, cause: e });
      throw e;
    }
    exeCache.set(file, { key, exe });
    return exe;
  } finally { closeSync(fd); }
}

/** Positioned reads of the open file `fd` of `size` bytes (fewer bytes at its end). */
function readerOf(fd: number, size: number): ReadAt {
  return (off, len) => {
    const b = Buffer.alloc(Math.max(0, Math.min(len, size - off)));
    let got = 0;
    while (got < b.length) { const n = readSync(fd, b, got, b.length - got, off + got); if (n === 0) break; got += n; }
    return b.subarray(0, got);
  };
}

/** The bytes of section `sec` of `file` (one of the sections openExecutable read). */
export function readExecSection(file: string, sec: ExecSection): Uint8Array {
  const fd = openSync(file, 'r');
  try { return readerOf(fd, fstatSync(fd).size)(sec.offset, sec.size); } finally { closeSync(fd); }
}

/** The file offset to probe: `offset` alone, or the symbol's offset plus `offset`. */
export function uprobeOffset(file: string, symbol: string | undefined, offset = 0): number {
  if (symbol === undefined) return offset;
  const exe = openExecutable(file);
  let f;
  try { f = findFunction(exe, symbol); } catch (e) {
    throw new AttachError(`${file}: ${(e as ElfError).detail}`, { file, symbol }, { reason: 'bad-target', hook: 'uprobe', cause: e });
  }
  if (!f) {
    const where = exe.functions().length === 0 ? 'it has no symbol table (.symtab or .dynsym)' : `no function '${symbol}' in its ${exe.functions()[0]!.table}`;
    throw new AttachError(`cannot probe ${file}:${symbol}: ${where}`, { file, symbol }, { reason: 'not-found', hook: 'uprobe' });
  }
  return f.offset + offset;
}

/** The semaphore's offset shifted into the PMU's config (format/ref_ctr_offset), 0n for none. */
function refCtrConfig(t: UprobeTarget, pmu: ProbePmu, hook: 'uprobe' | 'uretprobe', where: string, ctx: { section: string; symbol: string }): bigint {
  if (!t.refCtrOffset) return 0n;
  const shift = pmu.refCtrShift;
  if (shift === undefined) throw new AttachError(`${hook} ${where}: a reference counter offset needs uprobes with ref_ctr_offset (Linux 4.20)`, ctx, { reason: 'unsupported', hook, since: '4.20' });
  return BigInt(t.refCtrOffset) << BigInt(shift);
}

/** A uprobe or uretprobe: see UprobeTarget. */
export function attachUprobe(prog: Program, t: UprobeTarget): Link {
  const hook = t.retprobe ? 'uretprobe' : 'uprobe';
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (t.symbol === undefined && t.offset === undefined) throw new AttachError(`${hook} target needs a symbol or a file offset in ${t.binary}`, ctx, { reason: 'bad-target', hook });
  if (t.retprobe && t.symbol !== undefined && t.offset) throw new AttachError(`uretprobes take no offset from the symbol ('${t.symbol}+${t.offset}'): they fire when the function returns`, ctx, { reason: 'bad-target', hook });
  const file = resolveBinary(t.binary);
  const offset = uprobeOffset(file, t.symbol, t.offset);
  const where = `${file}:${t.symbol ?? ''}${t.symbol ? (t.offset ? `+${t.offset}` : '') : `0x${offset.toString(16)}`}${t.pid !== undefined ? ` pid ${t.pid}` : ''}`;
  const target = { program: prog.name, hook, target: where } as const;
  const pid = t.pid ?? -1;
  const cpu = pid >= 0 ? -1 : 0;
  const pmu = probePmu('uprobe');
  const legacy = t.attachMode === 'legacy' || (t.attachMode === undefined && 'why' in pmu);
  if (!legacy) {
    if ('why' in pmu) throw new AttachError(`${hook} ${where}: attach mode '${t.attachMode}' needs the uprobe PMU: ${pmu.why} (Linux 4.17)`, ctx, { reason: 'unsupported', hook, since: '4.17' });
    let fd: Fd;
    try {
      fd = new Fd(perfEventOpen({
        attr: { type: pmu.type, config: (t.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n) | refCtrConfig(t, pmu, hook, where, ctx), uprobe_path: Buffer.from(file + '\0'), probe_offset: offset },
        pid, cpu,
      }), `uprobe ${where}`);
    } catch (e) { throw kernelRefusal(`${hook} ${where} (perf_event_open on the uprobe PMU)`, e, ctx, hook); }
    return attachToPerfEvent(prog, fd, target, { mode: t.attachMode, cookie: t.cookie });
  }
  if (!hasProbeEvents('uprobe')) throw new AttachError(`${hook} ${where}: this kernel has no uprobes (no uprobe PMU and no uprobe_events in tracefs: CONFIG_UPROBE_EVENTS)`, ctx, { reason: 'unsupported', hook });
  return attachLegacyProbe(prog, 'uprobe', { what: path.basename(file), retprobe: !!t.retprobe, where: `${file}:0x${offset.toString(16)}${t.refCtrOffset ? `(0x${t.refCtrOffset.toString(16)})` : ''}`, pid, cpu, cookie: t.cookie }, target);
}

/** uprobe.multi / uretprobe.multi: the functions of `binary` matching `symbols`, in one link (Linux 6.6). */
export function attachUprobeMulti(prog: Program, t: UprobeMultiTarget): Link {
  const hook = t.retprobe ? 'uretprobe_multi' : 'uprobe_multi';
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const f = uprobeMultiSupported();
  if (!f.ok) throw new AttachError(`${hook} ${t.binary}: ${f.why}`, ctx, { reason: 'unsupported', hook, since: '6.6' });
  const file = resolveBinary(t.binary);
  const exe = openExecutable(file, hook);
  const names = typeof t.symbols === 'string' ? undefined : t.symbols;
  const offsets = names
    ? names.map((n) => uprobeOffset(file, n))
    : matchFunctions(exe, t.symbols as string).map((fn) => fn.offset);
  if (offsets.length === 0) throw new AttachError(`${hook}: no function of ${file} matches '${String(t.symbols)}'`, { ...ctx, file }, { reason: 'not-found', hook });
  let raw: number;
  try {
    raw = linkCreateUprobeMulti(prog.fd, { path: file, offsets, pid: t.pid ?? 0, flags: t.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0 });
  } catch (e) { throw kernelRefusal(`${hook} ${file}:${String(t.symbols)} (BPF_LINK_CREATE)`, e, ctx, hook); }
  return new BpfLink(new Fd(raw, `link of ${prog.name}`), { program: prog.name, hook, target: `${file}:${String(t.symbols)} (${offsets.length} functions)${t.pid ? ` pid ${t.pid}` : ''}` });
}
