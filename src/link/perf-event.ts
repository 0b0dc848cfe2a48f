/**
 * Programs on perf events: kprobes, uprobes and tracepoints are perf events, and so are
 * the software and hardware events that perf_event programs sample.
 *
 * A program goes onto a perf event fd through a BPF link (BPF_LINK_CREATE with
 * BPF_PERF_EVENT, Linux 5.15+: pinnable, with info()) or, before that, with
 * PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE, as libbpf does. Either way the Link
 * detaches on close() and then releases what the probe needed (a tracefs event).
 */
import type { Program } from '../load/program.js';
import {
  Fd, linkCreatePerfEvent, perfEventIoctl, perfEventOpen, PERF_COUNT_SW_CPU_CLOCK, PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT, type PerfAttrField, type AttrValues,
} from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { perfLinkSupported } from './features.js';
import { BpfLink, FdLink, Link, MultiLink, releaseAll, type LinkTarget } from './link.js';
import { addProbeEvent, probeEventName, removeProbeEvent, type ProbeEventKind } from './tracefs.js';

/**
 * How a probe is attached (libbpf's probe_attach_mode): 'link' a BPF link on a PMU event,
 * 'perf' PERF_EVENT_IOC_SET_BPF on a PMU event, 'legacy' an event made in tracefs
 * (kprobe_events / uprobe_events) with PERF_EVENT_IOC_SET_BPF. Default: the best the
 * kernel has.
 */
export type ProbeAttachMode = 'link' | 'perf' | 'legacy';

/** A program attached with PERF_EVENT_IOC_SET_BPF: no BPF link, the perf event fd holds it. */
export class PerfEventLink extends FdLink {
  override pin(_path: string): void {
    throw this.cannot('pin', 'attached with PERF_EVENT_IOC_SET_BPF (this kernel has no BPF links for perf events: Linux 5.15): it stays attached while this process holds the perf event');
  }

  override info(): never {
    throw this.cannot('info', 'attached with PERF_EVENT_IOC_SET_BPF: there is no BPF link (Linux 5.15 brings them for perf events)');
  }

  protected override detach(): void {
    try { perfEventIoctl(this.fd, PERF_EVENT_IOC_DISABLE); } catch { /* closing detaches anyway */ }
  }
}

/**
 * A BPF link on a perf event (Linux 5.15+). close() goes as libbpf's: the event disabled
 * (unless the link is pinned: the pin keeps it running), its fd closed, then the link's,
 * then the release steps (a tracefs event).
 */
export class PerfBpfLink extends BpfLink {
  readonly #perf: Fd;

  constructor(fd: Fd, perf: Fd, t: LinkTarget, release: Array<() => void> = []) {
    super(fd, t, release);
    this.#perf = perf;
  }

  protected override detach(): void {
    if (!this.pinnedAt) { try { perfEventIoctl(this.#perf, PERF_EVENT_IOC_DISABLE); } catch { /* closing detaches anyway */ } }
    this.#perf.close();
  }
}

/**
 * Attaches `prog` to the perf event `perf` (owned: on failure it is closed and `release`
 * run). `mode` 'link' insists on a BPF link, 'perf' / 'legacy' on the ioctl.
 */
export function attachToPerfEvent(prog: Program, perf: Fd, t: LinkTarget, opts: { mode?: ProbeAttachMode; cookie?: bigint; release?: Array<() => void> } = {}): Link {
  const release = opts.release ?? [];
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const useLink = opts.mode === 'link' || (opts.mode === undefined && perfLinkSupported().ok);
  try {
    if (useLink) {
      const f = perfLinkSupported();
      if (!f.ok) throw new AttachError(`${t.hook} ${t.target}: attach mode 'link' needs a BPF link for perf events: ${f.why}`, ctx, { reason: 'unsupported', hook: t.hook, since: '5.15' });
      let raw: number;
      try { raw = linkCreatePerfEvent(prog.fd, perf, opts.cookie ?? 0n); } catch (e) { throw kernelRefusal(`attaching '${prog.name}' to ${t.hook} ${t.target} (BPF_LINK_CREATE)`, e, ctx, t.hook); }
      return new PerfBpfLink(new Fd(raw, `link of ${prog.name}`), perf, t, release);
    }
    if (opts.cookie) throw new AttachError(`${t.hook} ${t.target}: a BPF cookie needs a BPF link for perf events (Linux 5.15)`, ctx, { reason: 'unsupported', hook: t.hook, since: '5.15' });
    try {
      perfEventIoctl(perf, PERF_EVENT_IOC_SET_BPF, prog.fd.value);
      perfEventIoctl(perf, PERF_EVENT_IOC_ENABLE);
    } catch (e) { throw kernelRefusal(`attaching '${prog.name}' to ${t.hook} ${t.target} (perf ioctl)`, e, ctx, t.hook); }
    return new PerfEventLink(perf, t, release);
  } catch (e) {
    perf.close();
    try { releaseAll(release); } catch { /* the attach error says more */ }
    throw e;
  }
}

/**
 * A legacy probe: an event `<kind>s/NAME` made in tracefs (`p:` or `r:` WHERE in
 * kprobe_events / uprobe_events), a PERF_TYPE_TRACEPOINT perf event on it and the perf
 * ioctls; the event is removed when the link closes, and at once when anything fails.
 */
export function attachLegacyProbe(prog: Program, kind: ProbeEventKind, o: { what: string; retprobe: boolean; where: string; pid: number; cpu: number; cookie?: bigint }, t: LinkTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const name = probeEventName(o.what);
  const id = addProbeEvent(kind, name, o.retprobe, o.where);
  const remove = () => removeProbeEvent(kind, name);
  let fd: Fd;
  try { fd = new Fd(perfEventOpen({ attr: { type: PERF_TYPE_TRACEPOINT, config: BigInt(id) }, pid: o.pid, cpu: o.cpu }), `${kind} event ${name}`); } catch (e) {
    remove();
    throw kernelRefusal(`${t.hook} ${t.target} (perf_event_open of ${kind}s/${name})`, e, ctx, t.hook);
  }
  return attachToPerfEvent(prog, fd, t, { mode: 'perf', cookie: o.cookie, release: [remove] });
}

/** A perf event for perf_event programs: `{ cpu?, pid?, type?, config?, frequency | period }`. */
export interface PerfEventTarget {
  /** 'software' (default), 'hardware' or a PMU type number. */
  type?: 'software' | 'hardware' | number;
  /** The event: PERF_COUNT_SW_CPU_CLOCK (default) or another config of `type`. */
  config?: number | bigint;
  /** Samples per second (default 1000 when no period is given). */
  frequency?: number;
  /** One sample every `period` events. */
  period?: number;
  /** One CPU; default every online CPU (one event and link per CPU). */
  cpu?: number;
  /** Only this process (default every process). */
  pid?: number;
}

/** Online CPUs from /sys/devices/system/cpu/online ('0-3,5'). */
export function onlineCpus(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** A perf_event program sampling the event on each CPU asked for: one link per CPU, closed together. */
export function attachPerfEventProgram(prog: Program, t: PerfEventTarget, cpus: number[]): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  if (t.frequency !== undefined && t.period !== undefined) throw new AttachError(`perf_event target: give frequency or period, not both`, ctx, { reason: 'bad-target', hook: 'perf_event' });
  const type = t.type === undefined || t.type === 'software' ? PERF_TYPE_SOFTWARE : t.type === 'hardware' ? PERF_TYPE_HARDWARE : t.type;
  const config = t.config ?? PERF_COUNT_SW_CPU_CLOCK;
  const attr: AttrValues<PerfAttrField> = t.period !== undefined
    ? { type, config: BigInt(config), sample_period: t.period }
    : { type, config: BigInt(config), sample_freq: t.frequency ?? 1000 };
  const flags: Array<'freq'> = t.period !== undefined ? [] : ['freq'];
  const what = `${typeof t.type === 'string' ? t.type : `type ${type}`} event ${config}${t.period !== undefined ? ` every ${t.period}` : ` at ${t.frequency ?? 1000} Hz`}`;
  const links: Link[] = [];
  try {
    for (const cpu of t.cpu !== undefined ? [t.cpu] : cpus) {
      let fd: Fd;
      try { fd = new Fd(perfEventOpen({ attr, flags, pid: t.pid ?? -1, cpu }), `perf event cpu ${cpu}`); } catch (e) {
        throw kernelRefusal(`opening the ${what} on CPU ${cpu} for '${prog.name}' (perf_event_open)`, e, ctx, 'perf_event');
      }
      links.push(attachToPerfEvent(prog, fd, { program: prog.name, hook: 'perf_event', target: `${what} cpu ${cpu}` }));
    }
  } catch (e) {
    try { releaseAll(links.map((l) => () => l.close())); } catch { /* the attach error says more */ }
    throw e;
  }
  if (links.length === 1) return links[0]!;
  return new MultiLink(links, { program: prog.name, hook: 'perf_event', target: `${what} on ${links.length} CPUs` });
}
