/**
 * USDT probes, as libbpf's usdt.c attaches them for programs written with usdt.bpf.h
 * (SEC("usdt/BINARY:PROVIDER:NAME"), BPF_USDT()):
 *  - the probe's sites are the binary's `.note.stapsdt` notes of that provider and name
 *    (addresses adjusted by `.stapsdt.base`, then made file offsets through PT_LOAD);
 *  - each distinct argument spec gets a spec id and a `struct __bpf_usdt_spec` in the
 *    object's `__bpf_usdt_specs` map (laid out from the object's BTF);
 *  - one uprobe per site (uprobe.ts), with the spec id as BPF cookie (Linux 5.15+), or
 *    else the site's address -> spec id in `__bpf_usdt_ip_to_spec_id`, as usdt.bpf.h
 *    looks it up when LINUX_HAS_BPF_COOKIE is false;
 *  - a site with a semaphore (in `.probes`) gets it as the uprobe's ref_ctr_offset, so
 *    the kernel counts attached probes in it (Linux 4.20).
 * Closing the link detaches every site, frees its spec ids and removes its ip entries.
 */
import { readFileSync, realpathSync } from 'node:fs';
import type { BpfMap } from '../load/map.js';
import type { Program } from '../load/program.js';
import { parseUsdtArgs, parseUsdtNotes, USDT_BASE_SECTION, USDT_NOTE_SECTION, UsdtError, type UsdtNote } from '../spec/usdt.js';
import { encodeUsdtSpec, usdtSpecLayout } from '../spec/usdt-layout.js';
import { BPF_NOEXIST } from '../sys/index.js';
import type { ExecSegment, Executable } from '../elf/executable.js';
import { perfLinkSupported, uprobeRefCtrShift } from './features.js';
import { MultiLink, releaseAll, type Link } from './link.js';
import type { ProbeAttachMode } from './perf-event.js';
import { attachUprobe, openExecutable, readExecSection, resolveBinary } from './uprobe.js';

export const USDT_SPECS_MAP = '__bpf_usdt_specs';
export const USDT_IP_MAP = '__bpf_usdt_ip_to_spec_id';

/** `{ binary, provider, name, pid?, usdtCookie? }`: every site of the probe PROVIDER:NAME in BINARY. */
export interface UsdtTarget {
  /** A path, a library name ('libc.so.6') or a program on PATH, as for uprobes. */
  binary: string;
  provider: string;
  name: string;
  /** Only this process (default: every process that runs the binary). */
  pid?: number;
  /** What bpf_usdt_cookie() returns in the program (default 0). */
  usdtCookie?: bigint;
  attachMode?: ProbeAttachMode;
  /** The object's `__bpf_usdt_specs` and `__bpf_usdt_ip_to_spec_id` maps: collection.attach() gives them. */
  maps?: UsdtMaps;
}

export interface UsdtMaps { specs: BpfMap; ipToSpecId: BpfMap }

/** One probe site, ready to attach. */
export interface UsdtSite {
  note: UsdtNote;
  /** The address the uprobe fires at, as the program sees it (PT_REGS_IP): for the ip map. */
  absIp: bigint;
  /** File offset of the NOP (what the uprobe takes). */
  fileOffset: number;
  /** File offset of the semaphore, 0 for none. */
  semaphoreOffset: number;
}

/** Spec ids in use per specs map (libbpf's usdt_manager: next free id and ids given back). */
const specIds = new WeakMap<BpfMap, { next: number; free: number[] }>();

/** The PT_LOAD segment holding a note's address (segment addresses are below 2^53). */
function segmentOf(exe: Executable, addr: bigint): ExecSegment | undefined {
  return addr <= BigInt(Number.MAX_SAFE_INTEGER) ? exe.segmentAt(Number(addr)) : undefined;
}

/** The `.note.stapsdt` notes of an opened binary (reads the section's bytes). */
export function readUsdtNotes(file: string, exe: Executable): UsdtNote[] {
  const sec = exe.sections.find((s) => s.name === USDT_NOTE_SECTION);
  if (!sec) return [];
  return parseUsdtNotes(readExecSection(file, sec), { file });
}

/**
 * The sites of PROVIDER:NAME in `file`, as libbpf's collect_usdt_targets computes them.
 * `vma` maps a file offset to the address it runs at in the target process (shared
 * libraries without cookies); without it the link-time address is the runtime one.
 */
export function usdtSites(file: string, exe: Executable, provider: string, name: string, vma?: (fileOffset: number) => bigint): UsdtSite[] {
  const all = readUsdtNotes(file, exe);
  const notes = all.filter((n) => n.provider === provider && n.name === name);
  if (notes.length === 0) {
    const have = [...new Set(all.map((n) => `${n.provider}:${n.name}`))];
    const why = exe.sections.some((s) => s.name === USDT_NOTE_SECTION) ? `its probes: ${have.join(', ') || 'none'}` : `it has no ${USDT_NOTE_SECTION} section`;
    throw new UsdtError(`no USDT probe ${provider}:${name} in ${file} (${why})`, { file }, 'not-found');
  }
  const base = exe.sections.find((s) => s.name === USDT_BASE_SECTION)?.addr ?? 0;
  return notes.map((note) => {
    const at = { file, section: USDT_NOTE_SECTION, offset: note.noteOffset };
    const absIp = base && note.base ? note.location + BigInt(base) - note.base : note.location;
    const seg = segmentOf(exe, absIp);
    if (!seg || !seg.executable) {
      throw new UsdtError(`USDT probe ${provider}:${name} at 0x${absIp.toString(16)} is in ${seg ? 'a segment that is not executable' : 'no PT_LOAD segment'}`, at, 'not-found');
    }
    const fileOffset = Number(absIp - BigInt(seg.vaddr)) + seg.offset;
    let semaphoreOffset = 0;
    if (note.semaphore) {
      const s = segmentOf(exe, note.semaphore);
      if (!s || s.executable) throw new UsdtError(`semaphore of USDT probe ${provider}:${name} at 0x${note.semaphore.toString(16)} is in ${s ? 'an executable segment' : 'no PT_LOAD segment'}`, at, 'not-found');
      semaphoreOffset = Number(note.semaphore - BigInt(s.vaddr)) + s.offset;
    }
    return { note, absIp: vma ? vma(fileOffset) : absIp, fileOffset, semaphoreOffset };
  });
}

/**
 * For a shared library without BPF cookies: file offset -> the address it runs at in
 * process `pid`, from its executable mappings in /proc/PID/maps (libbpf's parse_vma_segs).
 */
function vmaResolver(pid: number, file: string): (fileOffset: number) => bigint {
  let real = file;
  try { real = realpathSync(file); } catch { /* as given */ }
  const segs: Array<{ start: bigint; end: bigint; offset: bigint }> = [];
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s+(.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x' || m[5]!.trim() !== real) continue;
    segs.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[4]}`) });
  }
  return (off) => {
    const o = BigInt(off);
    const s = segs.find((x) => x.offset <= o && o < x.offset + (x.end - x.start));
    if (!s) throw new UsdtError(`${real} is not mapped executable at file offset 0x${off.toString(16)} in process ${pid}`, { file }, 'not-found');
    return s.start - s.offset + o;
  };
}

/** The two maps of usdt.bpf.h, from the target or an error saying where they come from. */
function usdtMaps(prog: Program, t: UsdtTarget): UsdtMaps {
  if (t.maps) return t.maps;
  throw new UsdtError(`'${prog.name}' is a USDT program: attach it through its collection (collection.attach(), which passes the ${USDT_SPECS_MAP} and ${USDT_IP_MAP} maps), or give { maps: { specs, ipToSpecId } }`,
    { section: prog.spec.section, symbol: prog.name }, 'no-maps');
}

/** Attaches `prog` at every site of PROVIDER:NAME: see the file comment. */
export function attachUsdt(prog: Program, t: UsdtTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const maps = usdtMaps(prog, t);
  const file = resolveBinary(t.binary);
  const exe = openExecutable(file, 'usdt');
  const what = `${file}:${t.provider}:${t.name}`;
  const useCookie = t.attachMode !== 'legacy' && t.attachMode !== 'perf' && perfLinkSupported().ok;
  const pid = t.pid !== undefined && t.pid >= 0 ? (t.pid === 0 ? process.pid : t.pid) : undefined;
  let vma: ((off: number) => bigint) | undefined;
  if (!useCookie && exe.kind === 'dyn') {
    // asked for only once the probe is found: a binary without it says that first
    let resolve: ((off: number) => bigint) | undefined;
    vma = (off) => {
      if (pid === undefined) throw new UsdtError(`${what}: without BPF cookies (BPF links for perf events, Linux 5.15) a USDT probe in a shared object needs a pid: its addresses differ per process`, ctx, 'unsupported');
      resolve ??= vmaResolver(pid, file);
      return resolve(off);
    };
  }
  const sites = usdtSites(file, exe, t.provider, t.name, vma);
  if (sites.some((s) => s.semaphoreOffset) && uprobeRefCtrShift() === undefined) {
    throw new UsdtError(`${what}: the probe has a semaphore, and this kernel's uprobes cannot count in it (no ref_ctr_offset in /sys/bus/event_source/devices/uprobe/format: Linux 4.20)`, ctx, 'unsupported');
  }
  const layout = usdtSpecLayout(maps.specs.btf!, maps.specs.spec.valueType, { ...ctx, file: prog.spec.section });
  const ids = specIds.get(maps.specs) ?? { next: 0, free: [] };
  specIds.set(maps.specs, ids);

  const mine: number[] = [], ips: bigint[] = [], links: Link[] = [];
  // what closing the link undoes besides the uprobes: the ip entries, then the spec ids
  const giveBack = () => [
    ...ips.map((ip) => () => { maps.ipToSpecId.delete(ip); }),
    () => { ids.free.push(...mine.splice(0)); },
  ];
  try {
    const bySpec = new Map<string, number>();
    for (const s of sites) {
      let id = bySpec.get(s.note.args);
      if (id === undefined) {
        const args = parseUsdtArgs(s.note.args, { file, section: USDT_NOTE_SECTION, offset: s.note.noteOffset }, `USDT probe ${t.provider}:${t.name}`);
        id = ids.free.pop() ?? (ids.next < maps.specs.maxEntries ? ids.next++ : undefined);
        if (id === undefined) throw new UsdtError(`${what}: no spec id left: ${USDT_SPECS_MAP} has ${maps.specs.maxEntries} entries, all in use (BPF_USDT_MAX_SPEC_CNT)`, ctx, 'spec-ids');
        mine.push(id);
        bySpec.set(s.note.args, id);
        maps.specs.update(id, encodeUsdtSpec(layout, args, t.usdtCookie ?? 0n, `USDT probe ${t.provider}:${t.name}`, { file }));
      }
      if (!useCookie) {
        try { maps.ipToSpecId.update(s.absIp, id, BPF_NOEXIST); } catch (e) {
          throw new UsdtError(`${what}: address 0x${s.absIp.toString(16)} is in ${USDT_IP_MAP} already (another USDT attach of this object probes it)`, ctx, 'spec-ids', e);
        }
        ips.push(s.absIp);
      }
      links.push(attachUprobe(prog, {
        binary: file, offset: s.fileOffset, pid, attachMode: t.attachMode,
        ...(useCookie ? { cookie: BigInt(id) } : {}),
        ...(s.semaphoreOffset ? { refCtrOffset: s.semaphoreOffset } : {}),
      }));
    }
  } catch (e) {
    try { releaseAll([...links.map((l) => () => l.close()), ...giveBack()]); } catch { /* the attach error says more */ }
    throw e;
  }
  return new UsdtLink(links, { program: prog.name, hook: 'usdt', target: `${what} (${sites.length} site${sites.length === 1 ? '' : 's'})${pid !== undefined ? ` pid ${pid}` : ''}` }, giveBack());
}

/** The uprobes of one USDT attach: close() detaches them and gives back spec ids and ip entries. */
export class UsdtLink extends MultiLink {}

/** Whether the object has usdt.bpf.h's maps (named as libbpf finds them). */
export function usdtMapsOf(maps: ReadonlyMap<string, BpfMap>): UsdtMaps | undefined {
  const specs = maps.get(USDT_SPECS_MAP), ipToSpecId = maps.get(USDT_IP_MAP);
  return specs && ipToSpecId ? { specs, ipToSpecId } : undefined;
}

