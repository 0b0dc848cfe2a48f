/**
 * .kconfig externs as libbpf resolves them: CONFIG_* from the kernel config, and the
 * virtual LINUX_KERNEL_VERSION / LINUX_HAS_SYSCALL_WRAPPER / LINUX_HAS_BPF_COOKIE.
 * Encodings follow libbpf's kcfg types: bool (1 byte, y=1 n=0), tristate
 * (`enum libbpf_tristate`: n=0, y=1, m=2), char (the letter or a number), integers of
 * 1/2/4/8 bytes (range-checked), char arrays for strings (NUL-terminated, truncated).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Btf, BtfType } from '../btf/index.js';
import { CoreError } from './errors.js';
import { kallsymsLookup } from './kallsyms.js';

/** Parse kernel config text: `CONFIG_X=value` lines; comments (`# CONFIG_X is not set`) leave X unset, as libbpf. */
export function parseKconfig(text: string, file = '<config>'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('CONFIG_')) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new CoreError(`line ${i + 1}: '${line}': no '=' separator`, { file });
    if (eq === line.length - 1) throw new CoreError(`line ${i + 1}: '${line}': no value`, { file });
    const name = line.slice(0, eq);
    if (!out.has(name)) out.set(name, line.slice(eq + 1));
  });
  return out;
}

/**
 * Where a kernel's config is looked for, in order: /proc/config.gz (CONFIG_IKCONFIG_PROC),
 * the distribution's /boot/config-R, and /usr/lib/modules/R/config (/lib/modules/R/config
 * on unmerged systems), where Debian 14 and later (linux-base-R) install it.
 */
export function kconfigPaths(release: string = os.release()): string[] {
  return ['/proc/config.gz', `/boot/config-${release}`, `/usr/lib/modules/${release}/config`, `/lib/modules/${release}/config`];
}

/** KERNEL_VERSION(a, b, c) of a release string like "6.18.44-fc-v769" (c capped at 255, as the macro). */
export function kernelVersionCode(release: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new CoreError(`cannot read a kernel version from release '${release}'`);
  const a = Number(m[1]), b = Number(m[2]), c = Number(m[3] ?? 0);
  return ((a << 16) + (b << 8) + Math.min(c, 255)) >>> 0;
}

let release: string | undefined;

/** The kernel release libbpf would use: Ubuntu's /proc/version_signature (last field) when present, else uname -r. Read once per process. */
export function kernelRelease(): string {
  return release ??= readRelease();
}

function readRelease(): string {
  try {
    if (existsSync('/proc/version_signature')) {
      const f = readFileSync('/proc/version_signature', 'utf8').trim().split(/\s+/);
      const last = f[f.length - 1];
      if (last && /^\d+\.\d+/.test(last)) return last;
    }
  } catch { /* fall through */ }
  return os.release();
}

type KcfgType = 'char' | 'bool' | 'int' | 'tristate' | 'char_array' | 'unknown';

/** libbpf's find_kcfg_type. */
export function kcfgType(btf: Btf, typeId: number): { type: KcfgType; signed: boolean } {
  let id = typeId;
  if (btf.kindOf(id) === 'var') id = (btf.typeById(id) as BtfType & { kind: 'var' }).type;
  const t = btf.resolveType(id);
  switch (t.kind) {
    case 'int':
      if (t.encoding & 4) return { type: t.size === 1 ? 'bool' : 'unknown', signed: false };
      if (t.size === 1) return { type: 'char', signed: (t.encoding & 1) !== 0 };
      if (t.size < 1 || t.size > 8 || (t.size & (t.size - 1)) !== 0) return { type: 'unknown', signed: false };
      return { type: 'int', signed: (t.encoding & 1) !== 0 };
    case 'enum': case 'enum64':
      if (t.name !== 'libbpf_tristate' || (t.kind === 'enum' && t.size !== 4)) return { type: 'unknown', signed: false };
      return { type: 'tristate', signed: false };
    case 'array':
      if (t.nelems === 0 || kcfgType(btf, t.type).type !== 'char') return { type: 'unknown', signed: false };
      return { type: 'char_array', signed: false };
    default: return { type: 'unknown', signed: false };
  }
}

export interface KconfigExtern {
  name: string;
  /** BTF id of the extern's type (or of its VAR). */
  type: number;
  /** Size in bytes of the value (from the DATASEC). */
  size: number;
  /** __weak: missing -> zero instead of an error. */
  weak?: boolean;
}

export interface KconfigOptions {
  /** Result of the BPF cookie feature probe (the loader's); default: kernel version >= 5.15. */
  bpfCookie?: boolean;
  /** Whether syscalls go through `__<arch>_sys_*` wrappers; default: /proc/kallsyms has one for bpf(). */
  syscallWrapper?: boolean;
  file?: string;
}

function fail(ext: KconfigExtern, why: string, opts: KconfigOptions): CoreError {
  return new CoreError(`extern (kcfg) '${ext.name}': ${why}`, { file: opts.file, symbol: ext.name, typeId: ext.type });
}

function setTri(ext: KconfigExtern, out: Uint8Array, kt: KcfgType, v: string, opts: KconfigOptions): void {
  switch (kt) {
    case 'bool':
      if (v === 'm') throw fail(ext, `value '${v}' implies tristate or char type`, opts);
      out[0] = v === 'y' ? 1 : 0;
      return;
    case 'tristate':
      new DataView(out.buffer, out.byteOffset).setUint32(0, v === 'y' ? 1 : v === 'm' ? 2 : 0, true);
      return;
    case 'char': out[0] = v.charCodeAt(0); return;
    default: throw fail(ext, `value '${v}' implies bool, tristate, or char type`, opts);
  }
}

function setNum(ext: KconfigExtern, out: Uint8Array, kt: { type: KcfgType; signed: boolean }, v: bigint, opts: KconfigOptions): void {
  if (kt.type !== 'int' && kt.type !== 'char' && kt.type !== 'bool') throw fail(ext, `value '${v}' implies integer, char, or boolean type`, opts);
  if (kt.type === 'bool' && v > 1n) throw fail(ext, `value '${v}' isn't boolean compatible`, opts);
  const bits = BigInt(ext.size * 8);
  if (kt.type !== 'bool' && ext.size !== 8) {
    const ok = kt.signed ? BigInt.asUintN(64, v + (1n << (bits - 1n))) < (1n << bits) : (v >> bits) === 0n;
    if (!ok) throw fail(ext, `value '${v}' doesn't fit in ${ext.size} bytes`, opts);
  }
  if (![1, 2, 4, 8].includes(ext.size)) throw fail(ext, `size ${ext.size} is not 1, 2, 4 or 8`, opts);
  for (let i = 0; i < ext.size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn); // little-endian
}

/** strtoull(s, 0): decimal, 0x hex, 0 octal; a leading '-' wraps as C does. Undefined if not all of `s` is a number. */
function parseU64(s: string): bigint | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const v = body.length > 1 && body[0] === '0' && !/^0[xX]/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  return BigInt.asUintN(64, m[1] === '-' ? -v : v);
}

/**
 * The bytes of one .kconfig extern (`ext.size` long). Missing values: zero for weak
 * externs, CoreError for others. `config` from readKconfig / parseKconfig (may be empty
 * when only virtual externs are used); `release` as `uname -r` (see kernelRelease()).
 */
export function kconfigValue(ext: KconfigExtern, btf: Btf, config: ReadonlyMap<string, string>, release: string, opts: KconfigOptions = {}): Uint8Array {
  const out = new Uint8Array(ext.size);
  const kt = kcfgType(btf, ext.type);
  if (kt.type === 'unknown') throw fail(ext, 'type is unsupported (bool, char, tristate (enum libbpf_tristate), integers of 1/2/4/8 bytes, char arrays)', opts);
  if (kt.type === 'char_array' || kt.type === 'tristate') {
    if (kt.type === 'tristate' && ext.size < 4) throw fail(ext, `tristate needs 4 bytes, has ${ext.size}`, opts);
  }
  switch (ext.name) {
    case 'LINUX_KERNEL_VERSION':
      setNum(ext, out, kt, BigInt(kernelVersionCode(release)), opts);
      return out;
    case 'LINUX_HAS_BPF_COOKIE':
      setTri(ext, out, kt.type, (opts.bpfCookie ?? kernelVersionCode(release) >= kernelVersionCode('5.15.0')) ? 'y' : 'n', opts);
      return out;
    case 'LINUX_HAS_SYSCALL_WRAPPER':
      setTri(ext, out, kt.type, (opts.syscallWrapper ?? hasSyscallWrapper()) ? 'y' : 'n', opts);
      return out;
  }
  if (!ext.name.startsWith('CONFIG_')) throw fail(ext, 'unrecognized virtual extern (LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER or CONFIG_*)', opts);
  const v = config.get(ext.name);
  if (v === undefined) {
    if (ext.weak) return out;
    throw fail(ext, 'not set in the kernel config, and the extern is not __weak', opts);
  }
  switch (v[0]) {
    case 'y': case 'n': case 'm':
      setTri(ext, out, kt.type, v[0], opts);
      return out;
    case '"': {
      if (kt.type !== 'char_array') throw fail(ext, `value '${v}' implies char array type`, opts);
      if (v.length < 2 || v[v.length - 1] !== '"') throw fail(ext, `invalid string config '${v}'`, opts);
      const bytes = Buffer.from(v.slice(1, -1), 'utf8');
      out.set(bytes.subarray(0, Math.max(0, ext.size - 1)));
      return out;
    }
    default: {
      const n = parseU64(v);
      if (n === undefined) throw fail(ext, `value '${v}' isn't a valid integer`, opts);
      if (kt.type !== 'int' && kt.type !== 'char') throw fail(ext, `value '${v}' implies integer type`, opts);
      setNum(ext, out, kt, n, opts);
      return out;
    }
  }
}

/**
 * The whole .kconfig map value: each variable's bytes at its offset. `weak(name)` says
 * which externs are __weak (from the ELF symbol binding). The kernel config is `config`,
 * else what `readConfig` returns (src/load's readKconfig reads the running kernel's),
 * called only when a CONFIG_* extern needs it.
 */
export function kconfigData(
  variables: Iterable<{ name: string; offset: number; size: number; type: number }>, valueSize: number, btf: Btf,
  opts: KconfigOptions & { weak?: (name: string) => boolean; config?: ReadonlyMap<string, string>; readConfig?: () => ReadonlyMap<string, string>; release?: string } = {},
): Uint8Array {
  const out = new Uint8Array(valueSize);
  const vars = [...variables];
  let config = opts.config;
  if (!config && vars.some((v) => v.name.startsWith('CONFIG_'))) {
    try {
      if (!opts.readConfig) throw new CoreError('no kernel config given (kconfigData: config or readConfig)');
      config = opts.readConfig();
    } catch (e) {
      if (vars.some((v) => v.name.startsWith('CONFIG_') && !opts.weak?.(v.name))) throw e;
      config = new Map();
    }
  }
  const release = opts.release ?? kernelRelease();
  for (const v of vars) {
    out.set(kconfigValue({ ...v, weak: opts.weak?.(v.name) ?? false }, btf, config ?? new Map(), release, opts), v.offset);
  }
  return out;
}

const WRAPPER_PREFIX: Record<string, string> = { x64: 'x64', arm64: 'arm64', s390x: 's390x', riscv64: 'riscv', ia32: 'ia32', loong64: 'loong64' };

/** libbpf probes `__<arch>_sys_bpf` with a kprobe; without a syscall we look it up in /proc/kallsyms. */
export function hasSyscallWrapper(): boolean {
  const pfx = WRAPPER_PREFIX[process.arch];
  if (!pfx) return false;
  try { return kallsymsLookup(`__${pfx}_sys_bpf`).length > 0; } catch { return false; }
}
