/**
 * rtnetlink sockets: the legacy TC path (clsact qdisc + cls_bpf filter, as libbpf's
 * bpf_tc_* and iproute2's `tc` do) on kernels without tcx links. The message headers are
 * laid out from <linux/netlink.h> / <linux/rtnetlink.h> and checked against them by
 * test/unit/sys-offsets.test.ts; the constants below too.
 */
import { TsbpfError } from '../errors.js';
import { cString, encodeAttr } from './attr.js';
import { SyscallError } from './error.js';
import { Fd } from './fd.js';
import { bytes, layout, u16, u32, u8 } from './layout.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

/** struct nlmsghdr */
export const NLMSGHDR = layout('nlmsghdr', 'struct nlmsghdr', '', {
  nlmsg_len: u32(0),
  nlmsg_type: u16(4),
  nlmsg_flags: u16(6),
  nlmsg_seq: u32(8),
  nlmsg_pid: u32(12),
}, 'linux/netlink.h');
export const NLMSGHDR_SIZE = 16;

/** struct nlmsgerr: the error (a negative errno, 0 for an ACK) then the request's header. */
export const NLMSGERR = layout('nlmsgerr', 'struct nlmsgerr', '', {
  error: u32(0),
  msg: bytes(4, 16),
}, 'linux/netlink.h');
export const NLMSGERR_SIZE = 20;

/** struct nlattr / struct rtattr (same layout). */
export const NLATTR = layout('nlattr', 'struct nlattr', '', {
  nla_len: u16(0),
  nla_type: u16(2),
}, 'linux/netlink.h');
export const NLATTR_SIZE = 4;

/** struct tcmsg */
export const TCMSG = layout('tcmsg', 'struct tcmsg', '', {
  tcm_family: u8(0),
  tcm_ifindex: u32(4),
  tcm_handle: u32(8),
  tcm_parent: u32(12),
  tcm_info: u32(16),
}, 'linux/rtnetlink.h');
export const TCMSG_SIZE = 20;

/** Every constant here with the header that defines it (checked by the offset probe). */
export const NETLINK_CONSTANTS = {
  'sys/socket.h': { AF_NETLINK: 16, SOCK_RAW: 3, SOCK_CLOEXEC: 0x80000, SOL_NETLINK: 270, MSG_TRUNC: 0x20 },
  'linux/netlink.h': {
    NETLINK_ROUTE: 0, NETLINK_CAP_ACK: 10, NETLINK_EXT_ACK: 11,
    NLM_F_REQUEST: 0x1, NLM_F_MULTI: 0x2, NLM_F_ACK: 0x4, NLM_F_ECHO: 0x8, NLM_F_DUMP: 0x300,
    NLM_F_REPLACE: 0x100, NLM_F_EXCL: 0x200, NLM_F_CREATE: 0x400, NLM_F_ACK_TLVS: 0x200,
    NLMSG_ERROR: 2, NLMSG_DONE: 3, NLMSGERR_ATTR_MSG: 1, NLA_F_NESTED: 0x8000,
  },
  'linux/rtnetlink.h': {
    RTM_NEWQDISC: 36, RTM_DELQDISC: 37, RTM_GETQDISC: 38, RTM_NEWTFILTER: 44, RTM_DELTFILTER: 45, RTM_GETTFILTER: 46,
    TCA_KIND: 1, TCA_OPTIONS: 2,
  },
  'linux/pkt_cls.h': { TCA_BPF_FD: 6, TCA_BPF_NAME: 7, TCA_BPF_FLAGS: 8, TCA_BPF_ID: 11, TCA_BPF_FLAG_ACT_DIRECT: 1 },
  'linux/pkt_sched.h': { TC_H_CLSACT: 0xfffffff1, TC_H_MIN_INGRESS: 0xfff2, TC_H_MIN_EGRESS: 0xfff3 },
  'linux/if_ether.h': { ETH_P_ALL: 3 },
} as const;

const S = NETLINK_CONSTANTS['sys/socket.h'];
const N = NETLINK_CONSTANTS['linux/netlink.h'];
export const RTM = NETLINK_CONSTANTS['linux/rtnetlink.h'];
export const NLM_F = { REQUEST: N.NLM_F_REQUEST, ACK: N.NLM_F_ACK, ECHO: N.NLM_F_ECHO, DUMP: N.NLM_F_DUMP, REPLACE: N.NLM_F_REPLACE, EXCL: N.NLM_F_EXCL, CREATE: N.NLM_F_CREATE } as const;
export const TC = { ...NETLINK_CONSTANTS['linux/pkt_cls.h'], ...NETLINK_CONSTANTS['linux/pkt_sched.h'], ...NETLINK_CONSTANTS['linux/if_ether.h'] } as const;

/** A netlink attribute: bytes, a NUL-terminated string, a u32, or nested attributes. */
export interface NlAttr {
  type: number;
  value: Uint8Array | string | number | NlAttr[];
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Attributes in netlink's TLV encoding (4-byte aligned; nested ones with NLA_F_NESTED). */
export function encodeNlAttrs(attrs: readonly NlAttr[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    let payload: Uint8Array;
    let type = a.type;
    if (typeof a.value === 'string') payload = Buffer.from(a.value + '\0', 'latin1');
    else if (typeof a.value === 'number') { payload = new Uint8Array(4); new DataView(payload.buffer).setUint32(0, a.value >>> 0, true); }
    else if (Array.isArray(a.value)) { payload = encodeNlAttrs(a.value); type |= N.NLA_F_NESTED; }
    else payload = a.value as Uint8Array;
    const rec = new Uint8Array(align4(NLATTR_SIZE + payload.length));
    rec.set(encodeAttr(NLATTR, { nla_len: NLATTR_SIZE + payload.length, nla_type: type }).bytes);
    rec.set(payload, NLATTR_SIZE);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

/** Attributes of a message body from `off` on: type (without flag bits) -> payload. */
export function parseNlAttrs(bytes: Uint8Array, off = 0): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (off + NLATTR_SIZE <= bytes.length) {
    const len = dv.getUint16(off, true);
    if (len < NLATTR_SIZE || off + len > bytes.length) break;
    out.set(dv.getUint16(off + 2, true) & 0x3fff, bytes.subarray(off + NLATTR_SIZE, off + len));
    off += align4(len);
  }
  return out;
}

/** One message of a reply: its type, flags and the bytes after the header. */
export interface NlMessage {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** Splits a datagram into messages. */
export function parseNlMessages(buf: Uint8Array): Array<NlMessage & { seq: number }> {
  const out: Array<NlMessage & { seq: number }> = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSGHDR_SIZE <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSGHDR_SIZE || off + len > buf.length) break;
    out.push({ type: dv.getUint16(off + 4, true), flags: dv.getUint16(off + 6, true), seq: dv.getUint32(off + 8, true), body: buf.subarray(off + NLMSGHDR_SIZE, off + len) });
    off += align4(len);
  }
  return out;
}

/** The error of an NLMSG_ERROR body (0 for an ACK) and the kernel's extended-ACK message. */
export function parseNlError(body: Uint8Array, flags: number): { errno: number; message?: string } {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const errno = -dv.getInt32(0, true);
  if (!(flags & N.NLM_F_ACK_TLVS)) return { errno };
  // NETLINK_CAP_ACK is set: only the request's header is echoed, the TLVs follow it.
  const msg = parseNlAttrs(body, NLMSGERR_SIZE).get(N.NLMSGERR_ATTR_MSG);
  if (!msg) return { errno };
  return { errno, message: cString(msg) };
}

type SocketFn = (domain: number, type: number, protocol: number) => number;
type SetsockoptFn = (fd: number, level: number, name: number, val: bigint, len: number) => number;
type SendFn = (fd: number, buf: bigint, len: number, flags: number) => number;

/** A NETLINK_ROUTE socket in this thread's network namespace (the one it was opened in). */
export class NetlinkSocket {
  readonly fd: Fd;
  #seq = Math.floor(Date.now() / 1000) >>> 0;
  readonly #buf = new Uint8Array(64 << 10);

  private constructor(fd: Fd) { this.fd = fd; }

  static open(): NetlinkSocket {
    const socket = libcFunction<SocketFn>('int socket(int domain, int type, int protocol)');
    const raw = socket(S.AF_NETLINK, S.SOCK_RAW | S.SOCK_CLOEXEC, N.NETLINK_ROUTE);
    if (raw < 0) throw SyscallError.from('socket(AF_NETLINK)', lastErrno());
    const fd = new Fd(raw, 'rtnetlink socket');
    const setsockopt = libcFunction<SetsockoptFn>('int setsockopt(int fd, int level, int name, uint64_t val, uint32_t len)');
    const one = new Int32Array([1]);
    // best effort: kernels without them just give plainer errors
    setsockopt(raw, S.SOL_NETLINK, N.NETLINK_EXT_ACK, addressOf(one), 4);
    setsockopt(raw, S.SOL_NETLINK, N.NETLINK_CAP_ACK, addressOf(one), 4);
    return new NetlinkSocket(fd);
  }

  /**
   * Sends one request (`body`: the family header + attributes) and reads the replies up
   * to its ACK (or NLMSG_DONE of a dump). Returns the other messages. A negative ACK
   * throws SyscallError(`command`, errno) whose hint carries the kernel's message.
   */
  request(command: string, type: number, flags: number, body: Uint8Array): NlMessage[] {
    const seq = (this.#seq = (this.#seq + 1) >>> 0);
    const msg = new Uint8Array(NLMSGHDR_SIZE + body.length);
    msg.set(encodeAttr(NLMSGHDR, { nlmsg_len: msg.length, nlmsg_type: type, nlmsg_flags: flags | N.NLM_F_REQUEST, nlmsg_seq: seq }).bytes);
    msg.set(body, NLMSGHDR_SIZE);
    const send = libcFunction<SendFn>('long send(int fd, uint64_t buf, size_t len, int flags)');
    if (send(this.fd.value, addressOf(msg), msg.length, 0) < 0) throw SyscallError.from(command, lastErrno());
    const recv = libcFunction<SendFn>('long recv(int fd, uint64_t buf, size_t len, int flags)');
    const out: NlMessage[] = [];
    for (;;) {
      const n = recv(this.fd.value, addressOf(this.#buf), this.#buf.length, 0);
      if (n < 0) throw SyscallError.from(command, lastErrno());
      if (n > this.#buf.length) throw new TsbpfError(`${command}: netlink reply of ${n} bytes truncated`);
      for (const m of parseNlMessages(this.#buf.subarray(0, n))) {
        if (m.seq !== seq) continue; // a stale reply of an earlier request
        if (m.type === N.NLMSG_ERROR) {
          const e = parseNlError(m.body, m.flags);
          if (e.errno === 0) return out;
          throw netlinkError(command, e.errno, e.message);
        }
        if (m.type === N.NLMSG_DONE) return out;
        out.push({ type: m.type, flags: m.flags, body: Uint8Array.from(m.body) });
        if (!(flags & N.NLM_F_ACK) && !(m.flags & N.NLM_F_MULTI)) return out;
      }
    }
  }

  close(): void { this.fd.close(); }
}

/** SyscallError for a negative netlink ACK, with the kernel's extended-ACK message in the hint. */
export function netlinkError(command: string, errno: number, message?: string): SyscallError {
  return new SyscallError(command, errno, {}, message ? { hint: `the kernel says: ${message}` } : undefined);
}

/** The tables here, for the offset probe. */
export const NETLINK_LAYOUTS = [NLMSGHDR, NLMSGERR, NLATTR, TCMSG];
