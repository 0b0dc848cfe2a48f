/**
 * sk_msg and sk_skb programs on a sockmap or sockhash: BPF_PROG_ATTACH with the map's fd
 * (no BPF link before Linux 6.10), detached with BPF_PROG_DETACH on close().
 */
import type { AttachTypeName } from '../kernel/enums.js';
import { BpfMap } from '../load/map.js';
import type { Program } from '../load/program.js';
import { progAttach, progDetach, rawFd, type FdLike } from '../sys/index.js';
import { AttachError, kernelRefusal } from './errors.js';
import { Link } from './link.js';

/** `{ map, attachType? }` */
export interface SockmapTarget {
  map: BpfMap | FdLike;
  /** Default: the section's (sk_msg -> sk_msg_verdict, sk_skb/stream_verdict...). */
  attachType?: AttachTypeName;
}

/** A program attached with BPF_PROG_ATTACH; close() detaches it. */
export class ProgAttachLink extends Link {
  #detach: (() => void) | undefined;

  constructor(detach: () => void, t: { program: string; hook: 'sockmap'; target: string }) {
    super(t);
    this.#detach = detach;
  }

  get closed(): boolean { return this.#detach === undefined; }

  override pin(_path: string): void {
    throw this.cannot('pin', 'attached with BPF_PROG_ATTACH: it stays on the map while the map exists');
  }

  close(): void {
    const d = this.#detach;
    this.#detach = undefined;
    d?.();
  }
}

/** An sk_msg / sk_skb program on a sockmap or sockhash. */
export function attachSockmap(prog: Program, t: SockmapTarget): Link {
  const ctx = { section: prog.spec.section, symbol: prog.name };
  const attachType = t.attachType ?? prog.spec.attachType;
  if (!attachType) throw new AttachError(`sockmap: say which attach type (sk_skb_stream_parser, sk_skb_stream_verdict, sk_skb_verdict): section '${prog.spec.section}' names none`, ctx, { reason: 'bad-target', hook: 'sockmap' });
  const map = t.map instanceof BpfMap ? t.map : undefined;
  if (map && map.type !== 'sockmap' && map.type !== 'sockhash') {
    throw new AttachError(`sockmap: map '${map.name}' is a ${map.type} map; sk_msg and sk_skb programs attach to a sockmap or sockhash`, ctx, { reason: 'bad-target', hook: 'sockmap' });
  }
  const mapFd = map ? map.fd : t.map as FdLike;
  const where = map ? map.name : `map fd ${rawFd(mapFd)}`;
  try { progAttach({ target: mapFd, prog: prog.fd, attachType }); } catch (e) {
    throw kernelRefusal(`${attachType} on ${where} (BPF_PROG_ATTACH)`, e, ctx, 'sockmap');
  }
  return new ProgAttachLink(() => {
    // a closed map took the attachment with it; a closed program cannot be named any more
    if ((map ? map.fd.closed : false) || prog.fd.closed) return;
    try { progDetach({ target: mapFd, prog: prog.fd, attachType }); } catch (e) {
      throw kernelRefusal(`detaching '${prog.name}' (${attachType}) from ${where} (BPF_PROG_DETACH)`, e, ctx, 'sockmap');
    }
  }, { program: prog.name, hook: 'sockmap', target: `${where} ${attachType}` });
}
