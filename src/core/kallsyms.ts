/**
 * Addresses of kernel symbols from /proc/kallsyms (typeless .ksyms externs), read once per
 * process and read again when a name is not found (a module loaded since).
 */
import { readFileSync } from 'node:fs';
import { CoreError } from './errors.js';

const texts = new Map<string, string>();

function text(file: string): string {
  let t = texts.get(file);
  if (t === undefined) {
    try { t = readFileSync(file, 'latin1'); } catch (e) { throw new CoreError(`cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e }); }
    texts.set(file, t);
  }
  return t;
}

/** Every address listed for `name` (vmlinux and modules), in file order. */
export function kallsymsLookup(name: string, opts: { path?: string } = {}): { address: bigint; type: string; module?: string }[] {
  const file = opts.path ?? '/proc/kallsyms';
  const t = text(file);
  const out: { address: bigint; type: string; module?: string }[] = [];
  const needle = ` ${name}`;
  for (let p = t.indexOf(needle); p >= 0; p = t.indexOf(needle, p + 1)) {
    const after = t.charCodeAt(p + needle.length);
    if (!(after === 10 || after === 9 || Number.isNaN(after))) continue; // '\n', '\t' (module), end
    const ls = t.lastIndexOf('\n', p) + 1;
    const le = t.indexOf('\n', p);
    const line = t.slice(ls, le < 0 ? undefined : le);
    const m = /^([0-9a-fA-F]+) (\S) (\S+)(?:\t\[(\S+)\])?$/.exec(line);
    if (!m || m[3] !== name) continue;
    out.push({ address: BigInt(`0x${m[1]}`), type: m[2]!, module: m[4] });
  }
  return out;
}

/**
 * Address of `name`, undefined when absent. CoreError when listed at different addresses
 * (libbpf: "resolution is ambiguous") or when addresses are hidden (all zero: kptr_restrict
 * / no CAP_SYSLOG).
 */
export function kallsymsAddress(name: string, opts: { path?: string } = {}): bigint | undefined {
  let hits = kallsymsLookup(name, opts);
  if (hits.length === 0) { texts.delete(opts.path ?? '/proc/kallsyms'); hits = kallsymsLookup(name, opts); }
  if (hits.length === 0) return undefined;
  const addrs = [...new Set(hits.map((h) => h.address))];
  if (addrs.length > 1) throw new CoreError(`extern (ksym) '${name}': resolution is ambiguous: ${addrs.map((a) => `0x${a.toString(16)}`).join(' or ')}`, { symbol: name });
  if (addrs[0] === 0n) throw new CoreError(`extern (ksym) '${name}': /proc/kallsyms shows address 0 (addresses hidden: needs CAP_SYSLOG / kernel.kptr_restrict)`, { symbol: name });
  return addrs[0];
}

