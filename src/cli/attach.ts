/**
 * `--attach` / `--attach PROG=TARGET`: attaching the loaded programs for the CLI, and the
 * one TARGET syntax per hook:
 *   kprobe           FUNC[+OFF]              (kretprobe/kretsyscall sections: on return)
 *   ksyscall         NAME
 *   kprobe.multi     GLOB
 *   uprobe           BINARY:SYMBOL[+OFF] | BINARY:0xOFFSET
 *   uprobe.multi     BINARY:GLOB
 *   tracepoint       CATEGORY/NAME           raw_tp: NAME
 *   xdp              IFNAME[:skb|drv|hw][@NETNS]
 *   tc / tcx         IFNAME[:ingress|egress][@NETNS]
 *   cgroup programs  /sys/fs/cgroup/PATH
 *   sk_lookup, flow_dissector   NETNS (a name of `ip netns` or a path)
 *   sk_msg, sk_skb   MAP (a sockmap or sockhash of the object)
 *   perf_event       freq=HZ | period=N [,cpu=N] [,pid=N] [,event=cpu-clock|task-clock|cycles|instructions]
 * Programs without an explicit TARGET attach where their section says (collection.attach()).
 */
import path from 'node:path';
import type { Collection } from '../load/collection.js';
import { makeDirs } from '../sys/mount.js';
import { pathInDir } from '../load/pin.js';
import { recordPins } from './manifest.js';
import type { ProgramSpec } from '../spec/types.js';
import { sectionDef } from '../spec/sections.js';
import { AttachError } from '../link/errors.js';
import type { AttachPoint } from '../link/attach.js';
import type { AttachedLinks } from '../link/collection.js';
import { BpfLink, MultiLink } from '../link/link.js';
import { PerfEventLink } from '../link/perf-event.js';
import { ProgAttachLink } from '../link/sockmap.js';
import { TcFilterLink } from '../link/tc-netlink.js';
import '../link/methods.js';
import { UsageError } from './args.js';
import type { ObjectResult } from './result.js';

const CGROUP_TYPES = new Set(['cgroup_skb', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'cgroup_device', 'sock_ops']);
const PERF_EVENTS: Record<string, { type: 'software' | 'hardware'; config: number }> = {
  'cpu-clock': { type: 'software', config: 0 }, 'task-clock': { type: 'software', config: 1 },
  cycles: { type: 'hardware', config: 0 }, instructions: { type: 'hardware', config: 1 },
};

/** A TARGET that names a map of the object: resolved once the collection is loaded. */
interface MapRef { mapName: string }

function usage(prog: string, text: string, why: string): UsageError {
  return new UsageError(`--attach ${prog}=${text}: ${why}`);
}

function offsetOf(s: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^\d+$/.test(s)) return Number(s);
  return undefined;
}

/** 'name+off' */
function nameOffset(prog: string, text: string, s: string): { name: string; offset?: number } {
  const plus = s.lastIndexOf('+');
  if (plus < 0) return { name: s };
  const offset = offsetOf(s.slice(plus + 1));
  if (offset === undefined) throw usage(prog, text, `'${s.slice(plus + 1)}' is not an offset (decimal or 0x...)`);
  return { name: s.slice(0, plus), offset };
}

/** IFNAME[:OPT][@NETNS] */
function iface(s: string): { ifname: string; opt?: string; netns?: string } {
  const at = s.indexOf('@');
  const netns = at >= 0 ? s.slice(at + 1) : undefined;
  const head = at >= 0 ? s.slice(0, at) : s;
  const colon = head.indexOf(':');
  return { ifname: colon >= 0 ? head.slice(0, colon) : head, ...(colon >= 0 ? { opt: head.slice(colon + 1) } : {}), ...(netns ? { netns } : {}) };
}

/** The attach point TARGET names for program `p` (see the syntax above); UsageError when it does not fit. */
export function parseTarget(p: ProgramSpec, text: string): AttachPoint | MapRef {
  const name = p.name;
  if (!text) throw usage(name, text, 'empty TARGET');
  const base = (sectionDef(p.section)?.pattern ?? '').replace(/\+$/, '');
  switch (p.type) {
    case 'kprobe': {
      if (p.attachType === 'trace_kprobe_multi') return { functions: text };
      if (p.attachType === 'trace_uprobe_multi') {
        const c = text.lastIndexOf(':');
        if (c <= 0) throw usage(name, text, 'expected BINARY:GLOB (uprobe.multi)');
        return { binary: text.slice(0, c), symbols: text.slice(c + 1) };
      }
      if (base === 'ksyscall' || base === 'kretsyscall') return { syscall: text };
      const c = text.lastIndexOf(':');
      if (c > 0) {
        const rest = text.slice(c + 1);
        const off = offsetOf(rest);
        if (off !== undefined && rest.startsWith('0x')) return { binary: text.slice(0, c), offset: off };
        const s = nameOffset(name, text, rest);
        return { binary: text.slice(0, c), symbol: s.name, ...(s.offset ? { offset: s.offset } : {}) };
      }
      if (base.startsWith('u')) throw usage(name, text, `expected BINARY:SYMBOL[+OFF] (${base})`);
      const s = nameOffset(name, text, text);
      return { function: s.name, ...(s.offset ? { offset: s.offset } : {}) };
    }
    case 'tracepoint':
      if (!/^[^/]+\/[^/]+$/.test(text)) throw usage(name, text, 'expected CATEGORY/NAME (tracepoint)');
      return { tracepoint: text };
    case 'raw_tracepoint':
    case 'raw_tracepoint_writable':
      return { tracepoint: text };
    case 'xdp': {
      const i = iface(text);
      if (i.opt !== undefined && !['skb', 'drv', 'hw'].includes(i.opt)) throw usage(name, text, `XDP mode '${i.opt}': expected skb, drv or hw`);
      return { ifname: i.ifname, ...(i.opt ? { mode: i.opt as 'skb' } : {}), ...(i.netns ? { netns: i.netns } : {}) };
    }
    case 'sched_cls': {
      const i = iface(text);
      if (i.opt !== undefined && i.opt !== 'ingress' && i.opt !== 'egress') throw usage(name, text, `'${i.opt}': expected ingress or egress`);
      if (i.opt === undefined && p.attachType !== 'tcx_ingress' && p.attachType !== 'tcx_egress') throw usage(name, text, `SEC("${p.section}") names no direction: write IFNAME:ingress or IFNAME:egress`);
      return { ifname: i.ifname, ...(i.opt ? { direction: i.opt as 'ingress' } : {}), ...(i.netns ? { netns: i.netns } : {}) };
    }
    case 'sk_lookup':
    case 'flow_dissector':
      return { netns: text };
    case 'sk_msg':
    case 'sk_skb':
      return { mapName: text };
    case 'perf_event': {
      const t: Record<string, unknown> = {};
      for (const kv of text.split(',')) {
        const [k, v = ''] = kv.split('=');
        const n = Number(v);
        if (k === 'event') {
          const e = PERF_EVENTS[v];
          if (!e) throw usage(name, text, `event '${v}': expected ${Object.keys(PERF_EVENTS).join(', ')}`);
          Object.assign(t, e);
        } else if (k === 'freq' || k === 'period' || k === 'cpu' || k === 'pid') {
          if (!Number.isInteger(n) || n < 0 || v === '') throw usage(name, text, `${k}=${v}: expected a number`);
          t[k === 'freq' ? 'frequency' : k] = n;
        } else throw usage(name, text, `'${kv}': expected freq=HZ, period=N, cpu=N, pid=N or event=NAME`);
      }
      return t as AttachPoint;
    }
    default:
      if ((p.type !== undefined && CGROUP_TYPES.has(p.type)) || (p.type === 'lsm' && p.attachType === 'lsm_cgroup')) {
        if (!text.startsWith('/')) throw usage(name, text, 'expected a cgroup v2 directory (/sys/fs/cgroup/...)');
        return { cgroup: text };
      }
      throw usage(name, text, `${p.type ?? '(no type)'}${p.attachType ? `/${p.attachType}` : ''} programs take no TARGET (their target is fixed at load, or tsbpf does not attach them): use --attach alone`);
  }
}

/** The explicit targets of one object's programs, parsed (before anything is loaded). */
export function explicitTargets(specPrograms: Map<string, ProgramSpec>, attach: Array<{ program: string; target: string }>): Map<string, AttachPoint | MapRef> {
  const out = new Map<string, AttachPoint | MapRef>();
  for (const a of attach) {
    const p = specPrograms.get(a.program);
    if (p) out.set(a.program, parseTarget(p, a.target));
  }
  return out;
}

/**
 * Attaches the loaded programs of one object: explicit targets, the others where their
 * sections say. Records in `result` what each program is attached to, or why not. On a
 * failure nothing stays attached (the program's row says why) and undefined is returned.
 */
export function attachObject(coll: Collection, result: ObjectResult, targets: Map<string, AttachPoint | MapRef>): AttachedLinks | undefined {
  const resolved: Record<string, AttachPoint> = {};
  const row = (n: string) => result.programs.find((p) => p.name === n);
  for (const [name, t] of targets) {
    if (!coll.programs.has(name)) { row(name)!.attached = { error: 'not loaded' }; continue; }
    if ('mapName' in t) {
      const map = coll.maps.get(t.mapName);
      if (!map) throw new UsageError(`--attach ${name}=${t.mapName}: no map '${t.mapName}' in ${coll.spec.file} (have: ${[...coll.maps.keys()].join(', ')})`);
      resolved[name] = { map };
    } else resolved[name] = t;
  }
  let links: AttachedLinks;
  try {
    links = coll.attach({ targets: resolved });
  } catch (e) {
    if (!(e instanceof AttachError) && !(e instanceof Error && 'symbol' in e)) throw e;
    const failed = e instanceof AttachError && e.program ? e.program : (e as { symbol?: string }).symbol;
    for (const p of result.programs) {
      if (p.verdict !== 'accepted') continue;
      p.attached = p.name === failed ? { error: (e as { detail?: string }).detail ?? (e as Error).message } : { skipped: `not attached: attaching ${failed ?? 'another program'} failed` };
    }
    result.attachError = (e as Error).message;
    return undefined;
  }
  for (const [name, l] of links) {
    const r = row(name);
    if (r) r.attached = { hook: l.hook, target: l.target };
  }
  for (const [name, why] of links.skipped) {
    const r = row(name);
    if (r) r.attached = { skipped: why };
  }
  return links;
}

/** Links of one object as the CLI keeps them, and what happens to them at exit. */
export interface ObjectLinks {
  links: AttachedLinks;
  /** Pinned under DIR/links (--pin): they outlive the process. */
  pinned: boolean;
}

/**
 * --pin with --attach: BPF links pinned at DIR/links/<prog> (a perf_event program's per-CPU
 * links at DIR/links/<prog>.cpu<N>); what cannot be pinned is said in the report's 'at exit'.
 */
export function pinLinks(links: AttachedLinks, pinDir: string, result: ObjectResult, manifestRoot = pinDir): void {
  const dir = path.join(pinDir, 'links');
  const pinned: string[] = [];
  const pin = (l: BpfLink, name: string) => {
    const at = pathInDir(dir, name, 'program', { file: result.file });
    makeDirs(dir);
    l.pin(at);
    pinned.push(at);
  };
  try {
    for (const [name, l] of links) {
      if (l instanceof BpfLink) { pin(l, name); continue; }
      if (l instanceof MultiLink) {
        l.links.forEach((x, i) => { if (x instanceof BpfLink) pin(x, `${name}.${i}`); });
        continue;
      }
      if (l instanceof PerfEventLink) result.atExit.push(`${name}: attached with PERF_EVENT_IOC_SET_BPF (no BPF link for perf events before Linux 5.15): it cannot be pinned and is detached at exit`);
      else if (l instanceof TcFilterLink) result.atExit.push(`${name}: the cls_bpf filter stays on ${l.target}; remove it with tc filter del (--unpin does not)`);
      else result.atExit.push(`${name}: stays attached to ${l.target} while the map exists`);
    }
  } finally {
    recordPins(manifestRoot, pinned); // --unpin removes (detaches) them with the rest
  }
  // only where something was pinned: a legacy perf event (before 5.15) leaves nothing there
  if (pinned.length) result.atExit.push(`links pinned under ${dir}: the programs stay attached after exit (--unpin ${manifestRoot} detaches them)`);
}

/** Closes the links the process does not leave behind: all of them, or with --pin only those no pin keeps. */
export function releaseLinks(o: ObjectLinks): void {
  for (const l of o.links.values()) {
    if (o.pinned && (l instanceof TcFilterLink || l instanceof ProgAttachLink)) continue; // they outlive the process by themselves
    try { l.close(); } catch { /* exiting: the kernel drops the rest with the fds */ }
  }
}

/**
 * Stays attached until SIGINT or SIGTERM, or `seconds`; resolves with what ended it. The
 * interval keeps Node's event loop alive (a signal listener alone does not). `ready` runs
 * once the signal handlers are in place (say "attached" there: a signal sent on seeing it
 * must find them).
 */
export function stayAttached(seconds: number | undefined, ready: () => void): Promise<string> {
  return new Promise((resolve) => {
    const keep = setInterval(() => {}, 1 << 30);
    let timer: NodeJS.Timeout | undefined;
    const done = (why: string) => {
      clearInterval(keep);
      if (timer) clearTimeout(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    if (seconds !== undefined) timer = setTimeout(() => done(`${seconds} s`), seconds * 1000);
    ready();
  });
}
