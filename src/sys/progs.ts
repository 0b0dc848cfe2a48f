/**
 * bpf(2) program commands, one typed function each: BPF_PROG_LOAD (with the verifier log
 * buffer the caller gives), BPF_PROG_TEST_RUN, BPF_PROG_BIND_MAP. The log strategy (sizes,
 * retries) is the loader's (src/load/verifier.ts): these functions only pass fields.
 */
import {
  BPF_PROG_LOAD, BPF_PROG_TEST_RUN, BPF_PROG_BIND_MAP, PROG_TYPES, ATTACH_TYPES, type ProgTypeName,
  type AttachTypeName,
} from '../kernel/enums.js';
import { TsbpfError } from '../errors.js';
import { encodeAttr, readU32, typeNumber, type Bytes } from './attr.js';
import { bpf } from './syscall.js';
import { isErrno } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { PROG_LOAD, PROG_TEST_RUN, PROG_BIND_MAP } from './layout.js';


export interface ProgLoadOptions {
  type: number | ProgTypeName;
  /** Encoded instructions, 8 bytes each. */
  insns: Bytes;
  license: string;
  name?: string;
  expectedAttachType?: number | AttachTypeName;
  flags?: number;
  kernVersion?: number;
  ifindex?: number;
  logLevel?: number;
  /** The verifier log buffer; its length is sent as log_size. */
  logBuf?: Uint8Array | null;
  btfFd?: FdLike;
  funcInfo?: { recSize: number; data: Bytes; count: number };
  lineInfo?: { recSize: number; data: Bytes; count: number };
  attachBtfId?: number;
  attachProgFd?: FdLike;
  attachBtfObjFd?: FdLike;
  /** int32 fds (BPF_PSEUDO_MAP_IDX / kfunc module BTF). */
  fdArray?: Int32Array | Uint8Array | null;
  /** Linux 6.9+ */
  tokenFd?: FdLike;
}

export interface ProgLoadResult {
  fd: number;
  /** Linux 6.4+: the log size the verifier needed (0 on older kernels). */
  logTrueSize: number;
}

/** The verifier log fields of one BPF_PROG_LOAD, given apart from the program's (they change between tries). */
export interface ProgLoadLog {
  level: number;
  buf: Uint8Array | null;
}

/**
 * The license as the kernel reads it (a NUL-terminated string), per license string: the
 * few an object has are encoded once per process, not once per program. Never written to.
 */
const licenses = new Map<string, Buffer>();
function licenseBytes(license: string): Buffer {
  let b = licenses.get(license);
  if (b === undefined) {
    b = Buffer.from(license + '\0', 'latin1');
    if (licenses.size < 64) licenses.set(license, b);
  }
  return b;
}

function encodeProgLoad(o: ProgLoadOptions, log?: ProgLoadLog) {
  const insns = o.insns;
  if (insns.byteLength % 8 !== 0) throw new TsbpfError(`BPF_PROG_LOAD: ${insns.byteLength} instruction bytes is not a multiple of 8`);
  const license = licenseBytes(o.license);
  const logBuf = (log ? log.buf : o.logBuf) ?? null;
  if (o.attachProgFd !== undefined && o.attachBtfObjFd !== undefined)
    throw new TsbpfError('BPF_PROG_LOAD: attach_prog_fd and attach_btf_obj_fd share one field; give one');
  const attachFd = o.attachProgFd ?? o.attachBtfObjFd;
  return encodeAttr(PROG_LOAD, {
    prog_type: typeNumber('program type', PROG_TYPES, o.type),
    insn_cnt: insns.byteLength / 8,
    insns,
    license,
    log_level: (log ? log.level : o.logLevel) ?? 0,
    log_size: logBuf ? logBuf.length : 0,
    log_buf: logBuf,
    kern_version: o.kernVersion ?? 0,
    prog_flags: o.flags ?? 0,
    prog_name: o.name ?? '',
    prog_ifindex: o.ifindex ?? 0,
    expected_attach_type: o.expectedAttachType === undefined ? 0 : typeNumber('attach type', ATTACH_TYPES, o.expectedAttachType),
    prog_btf_fd: o.btfFd === undefined ? 0 : rawFd(o.btfFd),
    func_info_rec_size: o.funcInfo?.recSize ?? 0,
    func_info: o.funcInfo?.data ?? null,
    func_info_cnt: o.funcInfo?.count ?? 0,
    line_info_rec_size: o.lineInfo?.recSize ?? 0,
    line_info: o.lineInfo?.data ?? null,
    line_info_cnt: o.lineInfo?.count ?? 0,
    attach_btf_id: o.attachBtfId ?? 0,
    attach_prog_fd: attachFd === undefined ? 0 : rawFd(attachFd),
    fd_array: o.fdArray ?? null,
    prog_token_fd: o.tokenFd === undefined ? 0 : rawFd(o.tokenFd),
  });
}

/** BPF_PROG_LOAD: returns the program fd. */
export function progLoad(o: ProgLoadOptions): number {
  return bpf(BPF_PROG_LOAD, encodeProgLoad(o).bytes);
}

/**
 * BPF_PROG_LOAD returning log_true_size too. On failure the SyscallError is thrown as by
 * progLoad; read `logTrueSize` of the attr with `progLoadDetailed(...)` in a retry loop.
 * `log`, when given, replaces `o.logLevel` / `o.logBuf` (a retry with a log needs no copy
 * of `o`: `{ ...o, logBuf }` adds keys to a spread object, which V8 makes slowly, ~3 us).
 */
export function progLoadDetailed(o: ProgLoadOptions, log?: ProgLoadLog): ProgLoadResult {
  const a = encodeProgLoad(o, log);
  const fd = bpf(BPF_PROG_LOAD, a.bytes);
  return { fd, logTrueSize: readU32(PROG_LOAD, a.bytes, 'log_true_size') };
}

export interface ProgTestRunOptions {
  data?: Bytes | null;
  /** Size of the data_out buffer; default data length + 256. 0: no data_out. */
  dataSizeOut?: number;
  ctx?: Bytes | null;
  /** Size of ctx_out; default the ctx length (0 without ctx). */
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface ProgTestRunResult {
  retval: number;
  /** Average ns per run, as the kernel reports it. */
  duration: number;
  dataOut: Uint8Array;
  ctxOut: Uint8Array | null;
}

/** BPF_PROG_TEST_RUN (a.k.a. BPF_PROG_RUN). Retries once with the size the kernel asks for on ENOSPC. */
export function progTestRun(fd: FdLike, o: ProgTestRunOptions = {}): ProgTestRunResult {
  const data = o.data ?? null;
  let dataOutSize = o.dataSizeOut ?? (data ? data.byteLength + 256 : 0);
  let ctxOutSize = o.ctxSizeOut ?? (o.ctx ? o.ctx.byteLength : 0);
  for (let attempt = 0; ; attempt++) {
    const dataOut = new Uint8Array(dataOutSize);
    const ctxOut = ctxOutSize > 0 ? new Uint8Array(ctxOutSize) : null;
    const a = encodeAttr(PROG_TEST_RUN, {
      prog_fd: rawFd(fd),
      data_size_in: data ? data.byteLength : 0,
      data_size_out: dataOutSize,
      data_in: data,
      data_out: dataOutSize > 0 ? dataOut : null,
      repeat: o.repeat ?? 0,
      ctx_size_in: o.ctx ? o.ctx.byteLength : 0,
      ctx_size_out: ctxOutSize,
      ctx_in: o.ctx ?? null,
      ctx_out: ctxOut,
      flags: o.flags ?? 0,
      cpu: o.cpu ?? 0,
      batch_size: o.batchSize ?? 0,
    });
    try {
      bpf(BPF_PROG_TEST_RUN, a.bytes);
    } catch (e) {
      const wantData = readU32(PROG_TEST_RUN, a.bytes, 'data_size_out');
      const wantCtx = readU32(PROG_TEST_RUN, a.bytes, 'ctx_size_out');
      if (attempt === 0 && isErrno(e, 'ENOSPC') && (wantData > dataOutSize || wantCtx > ctxOutSize)) {
        dataOutSize = Math.max(dataOutSize, wantData);
        ctxOutSize = Math.max(ctxOutSize, wantCtx);
        continue;
      }
      throw e;
    }
    const outLen = Math.min(readU32(PROG_TEST_RUN, a.bytes, 'data_size_out'), dataOutSize);
    const ctxLen = ctxOut ? Math.min(readU32(PROG_TEST_RUN, a.bytes, 'ctx_size_out'), ctxOutSize) : 0;
    return {
      retval: readU32(PROG_TEST_RUN, a.bytes, 'retval'),
      duration: readU32(PROG_TEST_RUN, a.bytes, 'duration'),
      dataOut: dataOut.subarray(0, outLen),
      ctxOut: ctxOut ? ctxOut.subarray(0, ctxLen) : null,
    };
  }
}

/** BPF_PROG_BIND_MAP: keep `map` alive as long as `prog` (e.g. .rodata not referenced by code). */
export function progBindMap(prog: FdLike, map: FdLike, flags = 0): void {
  bpf(BPF_PROG_BIND_MAP, encodeAttr(PROG_BIND_MAP, { prog_fd: rawFd(prog), map_fd: rawFd(map), flags }).bytes);
}
