/**
 * `.BTF.ext`: func_info, line_info and CO-RE relocation records per ELF section.
 *
 * Layout (libbpf's struct btf_ext_header): magic u16, version u8, flags u8, hdr_len u32,
 * func_info_off/len, line_info_off/len, and core_relo_off/len when hdr_len >= 32; all
 * offsets relative to the end of the header. Each sub-section is a u32 record size,
 * then per ELF section { sec_name_off u32, num_info u32, num_info records }.
 * Instruction offsets are bytes in the file and 8-byte slots here.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import type { BtfExt, CoreRelo, FuncInfo, LineInfo } from './types.js';

const EXT_MIN_HDR = 8;
const FUNC_INFO_MIN = 8, LINE_INFO_MIN = 16, CORE_RELO_MIN = 16;

export interface BtfExtParseOptions { file?: string }

export function parseBtfExt(bytes: Uint8Array, btf: Btf, opts: BtfExtParseOptions = {}): BtfExt {
  return readBtfExt(bytes, btf, opts, true);
}

/**
 * Checks `.BTF.ext` as parseBtfExt does (the same BtfError for the same input), making no
 * record object and no string: for a reader that parses it later, when the records are needed.
 */
export function checkBtfExt(bytes: Uint8Array, btf: Btf, opts: BtfExtParseOptions = {}): void {
  // the walk below says only whether the section is sound; when it is not, the full check
  // finds the first fault and throws its error
  if (!soundBtfExt(bytes, btf)) readBtfExt(bytes, btf, opts, false);
}

/** Record kinds of the sound-check: which fields are a type id (T) or a string offset (S). */
const FUNC_INFO = 0, LINE_INFO = 1, CORE_RELO = 2;
const SUBSECTIONS = [[8, FUNC_INFO_MIN, FUNC_INFO], [16, LINE_INFO_MIN, LINE_INFO], [24, CORE_RELO_MIN, CORE_RELO]] as const;

/**
 * Whether readBtfExt(bytes, btf, _, false) accepts `bytes`: the same checks in one loop
 * without closures, messages or strings (open checks every record of every object).
 * Never true where readBtfExt throws (test/unit/spec-lazy.test.ts holds the two together);
 * false sends the caller to readBtfExt for the error.
 */
function soundBtfExt(bytes: Uint8Array, btf: Btf): boolean {
  if (bytes.length < EXT_MIN_HDR) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint16(0, true);
  const le = magic === 0xeb9f;
  if (!le && magic !== 0x9feb) return false;
  if (v.getUint8(2) !== 1) return false;
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < EXT_MIN_HDR || hdrLen > bytes.length) return false;
  const data = bytes.length - hdrLen, types = btf.length, strs = btf.stringsLength;
  for (const [fieldOff, minSize, kind] of SUBSECTIONS) {
    if (hdrLen < fieldOff + 8) continue;
    const off = v.getUint32(fieldOff, le), len = v.getUint32(fieldOff + 4, le);
    if (len === 0) continue;
    if (off % 4 !== 0 || off + len > data || len < 4) return false;
    let p = hdrLen + off;
    const end = p + len;
    const recSize = v.getUint32(p, le);
    if (recSize < minSize || recSize % 4 !== 0) return false;
    p += 4;
    while (p < end) {
      if (end - p < 8) return false;
      const nameOff = v.getUint32(p, le), num = v.getUint32(p + 4, le);
      if (nameOff >= strs || num === 0) return false;
      p += 8;
      if (num * recSize > end - p) return false;
      for (let k = 0; k < num; k++, p += recSize) {
        if (v.getUint32(p, le) % 8 !== 0) return false;
        if (kind === LINE_INFO) {
          if (v.getUint32(p + 4, le) >= strs || v.getUint32(p + 8, le) >= strs) return false;
        } else {
          if (v.getUint32(p + 4, le) >= types) return false;
          if (kind === CORE_RELO && v.getUint32(p + 8, le) >= strs) return false;
        }
      }
    }
  }
  return true;
}

function readBtfExt(bytes: Uint8Array, btf: Btf, opts: BtfExtParseOptions, build: boolean): BtfExt {
  const fail = (detail: string, offset?: number) => new BtfError(detail, { file: opts.file, section: '.BTF.ext', offset });
  if (bytes.length < EXT_MIN_HDR) throw fail(`.BTF.ext is ${bytes.length} bytes, too short for a header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint16(0, true);
  let le: boolean;
  if (magic === 0xeb9f) le = true;
  else if (magic === 0x9feb) le = false;
  else throw fail(`bad magic 0x${magic.toString(16).padStart(4, '0')}, expected 0xeb9f`, 0);
  if (v.getUint8(2) !== 1) throw fail(`unsupported .BTF.ext version ${v.getUint8(2)}, expected 1`, 2);
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < EXT_MIN_HDR) throw fail(`hdr_len ${hdrLen} is smaller than the ${EXT_MIN_HDR}-byte minimum`, 4);
  if (hdrLen > bytes.length) throw fail(`hdr_len ${hdrLen} runs ${hdrLen - bytes.length} bytes past the end of the ${bytes.length}-byte .BTF.ext`, 4);
  const data = bytes.length - hdrLen;

  const str = (off: number, what: string, at: number): string => {
    if (off >= btf.stringsLength) throw fail(`${what} offset ${off} is out of range (BTF string section is ${btf.stringsLength} bytes)`, at);
    return btf.string(off);
  };
  const typeId = (id: number, what: string, at: number): number => {
    if (id >= btf.length) throw fail(`${what} references type id ${id}, but the last BTF type id is ${btf.length - 1}`, at);
    return id;
  };

  /** Walk one sub-section; `rec(secName, at)` reads one record at byte `at`. */
  function subsection<T>(label: string, fieldOff: number, minRec: string, minSize: number,
    rec: (sec: string, at: number) => T | undefined): Map<string, T[]> {
    const out = new Map<string, T[]>();
    if (hdrLen < fieldOff + 8) return out;
    const off = v.getUint32(fieldOff, le), len = v.getUint32(fieldOff + 4, le);
    if (len === 0) return out;
    if (off % 4 !== 0) throw fail(`${label} offset ${off} is not 4-byte aligned`, fieldOff);
    if (off + len > data) throw fail(`${label} (offset ${off} + length ${len}) runs ${off + len - data} bytes past the end of the ${data} bytes after the header`, fieldOff);
    if (len < 4) throw fail(`${label} is ${len} bytes, too short for its record size`, hdrLen + off);
    let p = hdrLen + off;
    const end = p + len;
    const recSize = v.getUint32(p, le);
    if (recSize < minSize) throw fail(`${label} rec_size ${recSize} is smaller than the ${minSize}-byte ${minRec}`, p);
    if (recSize % 4 !== 0) throw fail(`${label} rec_size ${recSize} is not a multiple of 4`, p);
    p += 4;
    while (p < end) {
      if (end - p < 8) throw fail(`${label}: truncated section header (${end - p} bytes left, 8 needed)`, p);
      const nameOff = v.getUint32(p, le), num = v.getUint32(p + 4, le);
      const sec = str(nameOff, `${label} section name`, p);
      if (num === 0) throw fail(`${label} for section '${sec}' has no records`, p + 4);
      p += 8;
      if (num * recSize > end - p) {
        throw fail(`${label} for section '${sec}': ${num} records of ${recSize} bytes run ${num * recSize - (end - p)} bytes past the end of ${label}`, p - 4);
      }
      if (!build) {
        for (let k = 0; k < num; k++, p += recSize) rec(sec, p);
        continue;
      }
      let list = out.get(sec);
      if (!list) out.set(sec, (list = []));
      for (let k = 0; k < num; k++, p += recSize) list.push(rec(sec, p)!);
    }
    return out;
  }

  const insn = (label: string, sec: string, at: number): number => {
    const off = v.getUint32(at, le);
    if (off % 8 !== 0) throw fail(`${label} record for section '${sec}': insn_off ${off} is not a multiple of 8 (the instruction size)`, at);
    return off / 8;
  };

  // Messages are made only on failure: a template string per record costs more than the record.
  const recTypeId = (label: string, sec: string, at: number): number => {
    const id = v.getUint32(at, le);
    return id < btf.length ? id : typeId(id, `${label} record for section '${sec}'`, at);
  };
  const recStr = (label: string, field: string, sec: string, at: number): string => {
    const off = v.getUint32(at, le);
    if (off >= btf.stringsLength) return str(off, `${label} for section '${sec}': ${field}`, at);
    return build ? btf.string(off) : '';
  };
  const funcInfo = subsection<FuncInfo>('func_info', 8, 'bpf_func_info', FUNC_INFO_MIN, (sec, at) => {
    const insnOff = insn('func_info', sec, at), typeId = recTypeId('func_info', sec, at + 4);
    return build ? { insnOff, typeId } : undefined;
  });
  // the records of a section name one file, or a few: its name is made once per run of them
  let fileOff = -1, file = '';
  const lineInfo = subsection<LineInfo>('line_info', 16, 'bpf_line_info', LINE_INFO_MIN, (sec, at) => {
    const insnOff = insn('line_info', sec, at), fileNameOff = v.getUint32(at + 4, le);
    if (fileNameOff !== fileOff || !build) {
      file = recStr('line_info', 'file name', sec, at + 4);
      fileOff = fileNameOff;
    }
    const fileName = file, line = recStr('line_info', 'line', sec, at + 8);
    if (!build) return undefined;
    const lineCol = v.getUint32(at + 12, le);
    return {
      insnOff, fileNameOff, lineOff: v.getUint32(at + 8, le),
      fileName, line, lineNum: lineCol >>> 10, column: lineCol & 0x3ff,
    };
  });
  const coreRelos = subsection<CoreRelo>('core_relo', 24, 'bpf_core_relo', CORE_RELO_MIN, (sec, at) => {
    const insnOff = insn('core_relo', sec, at), typeId = recTypeId('core_relo', sec, at + 4);
    const accessStr = recStr('core_relo', 'access string', sec, at + 8);
    return build ? { insnOff, typeId, accessStr, kind: v.getUint32(at + 12, le) } : undefined;
  });
  return { funcInfo, lineInfo, coreRelos, sorted: ascending(funcInfo) && ascending(lineInfo) && ascending(coreRelos) };
}

/** Whether every list of `lists` is in ascending insnOff order. */
function ascending(lists: Map<string, Array<{ insnOff: number }>>): boolean {
  for (const list of lists.values()) {
    for (let i = 1; i < list.length; i++) if (list[i - 1]!.insnOff > list[i]!.insnOff) return false;
  }
  return true;
}
