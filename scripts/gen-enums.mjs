#!/usr/bin/env node
// Generates src/kernel/enums.ts from the uapi header (/usr/include/linux/bpf.h, package
// linux-libc-dev) plus a small, clearly marked block of values that header is too old
// to have (each with the kernel release that introduced it).
//
//   node scripts/gen-enums.mjs [path/to/bpf.h] [--check]
//
// --check: exit 1 when the committed src/kernel/enums.ts differs from what would be
// generated (used by test/unit/enums.test.ts through the exported functions).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_HEADER = '/usr/include/linux/bpf.h';
export const OUTPUT = path.join(root, 'src', 'kernel', 'enums.ts');

/**
 * Values newer than the linux-libc-dev header this table was generated from (Debian 12:
 * 6.1). Needed by the libbpf SEC() table (libbpf 1.6) and by loaders of current objects.
 * Each was checked against the kernel's include/uapi/linux/bpf.h (enum order / bit value).
 * When the header already has a name, the header wins and the generator checks they agree.
 */
export const NEWER_THAN_HEADER = {
  bpf_cmd: [
    ['BPF_TOKEN_CREATE', 36, '6.9'],
    ['BPF_PROG_STREAM_READ_BY_FD', 37, '6.17'],
  ],
  bpf_map_type: [
    ['BPF_MAP_TYPE_CGRP_STORAGE', 32, '6.2'],
    ['BPF_MAP_TYPE_ARENA', 33, '6.9'],
  ],
  bpf_prog_type: [
    ['BPF_PROG_TYPE_NETFILTER', 32, '6.4'],
  ],
  bpf_link_type: [
    ['BPF_LINK_TYPE_NETFILTER', 10, '6.4'],
    ['BPF_LINK_TYPE_TCX', 11, '6.6'],
    ['BPF_LINK_TYPE_UPROBE_MULTI', 12, '6.6'],
    ['BPF_LINK_TYPE_NETKIT', 13, '6.7'],
    ['BPF_LINK_TYPE_SOCKMAP', 14, '6.10'],
  ],
  bpf_attach_type: [
    ['BPF_STRUCT_OPS', 44, '6.4'],
    ['BPF_NETFILTER', 45, '6.4'],
    ['BPF_TCX_INGRESS', 46, '6.6'],
    ['BPF_TCX_EGRESS', 47, '6.6'],
    ['BPF_TRACE_UPROBE_MULTI', 48, '6.6'],
    ['BPF_CGROUP_UNIX_CONNECT', 49, '6.7'],
    ['BPF_CGROUP_UNIX_SENDMSG', 50, '6.7'],
    ['BPF_CGROUP_UNIX_RECVMSG', 51, '6.7'],
    ['BPF_CGROUP_UNIX_GETPEERNAME', 52, '6.7'],
    ['BPF_CGROUP_UNIX_GETSOCKNAME', 53, '6.7'],
    ['BPF_NETKIT_PRIMARY', 54, '6.7'],
    ['BPF_NETKIT_PEER', 55, '6.7'],
    ['BPF_TRACE_KPROBE_SESSION', 56, '6.10'],
    ['BPF_TRACE_UPROBE_SESSION', 57, '6.13'],
  ],
  map_flags: [
    ['BPF_F_LINK', 1 << 13, '6.4'],
    ['BPF_F_PATH_FD', 1 << 14, '6.5'],
    ['BPF_F_VTYPE_BTF_OBJ_FD', 1 << 15, '6.9'],
    ['BPF_F_TOKEN_FD', 1 << 16, '6.9'],
    ['BPF_F_SEGV_ON_FAULT', 1 << 17, '6.9'],
    ['BPF_F_NO_USER_CONV', 1 << 18, '6.9'],
  ],
  prog_flags: [
    ['BPF_F_XDP_DEV_BOUND_ONLY', 1 << 6, '6.3'],
    ['BPF_F_TEST_REG_INVARIANTS', 1 << 7, '6.7'],
  ],
};

/** BPF_PROG_LOAD prog_flags, in bit order (#defines in the header). */
const PROG_FLAG_NAMES = [
  'BPF_F_STRICT_ALIGNMENT', 'BPF_F_ANY_ALIGNMENT', 'BPF_F_TEST_RND_HI32',
  'BPF_F_TEST_STATE_FREQ', 'BPF_F_SLEEPABLE', 'BPF_F_XDP_HAS_FRAGS',
  'BPF_F_XDP_DEV_BOUND_ONLY', 'BPF_F_TEST_REG_INVARIANTS',
];

function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

function evalExpr(expr, known) {
  const e = expr.trim();
  let m;
  if (/^-?\d+$/.test(e)) return Number(e);
  if (/^0x[0-9a-f]+$/i.test(e)) return Number(e);
  if ((m = /^\(?\s*1U?L*\s*<<\s*(\d+)\s*\)?$/i.exec(e))) return 2 ** Number(m[1]);
  if (known.has(e)) return known.get(e);
  throw new Error(`gen-enums: cannot evaluate enum expression '${e}'`);
}

/** Parses the body of `enum <name> { ... }` into [NAME, value] pairs (no __MAX_*). */
function parseEnumBody(body) {
  const out = [];
  const known = new Map();
  let next = 0;
  for (const raw of body.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(item);
    if (!m) throw new Error(`gen-enums: cannot parse enum item '${item}'`);
    const value = m[2] !== undefined ? evalExpr(m[2], known) : next;
    known.set(m[1], value);
    next = value + 1;
    if (!m[1].startsWith('__')) out.push([m[1], value]);
  }
  return out;
}

function namedEnum(src, name) {
  const m = new RegExp(`enum\\s+${name}\\s*\\{([\\s\\S]*?)\\};`).exec(src);
  if (!m) throw new Error(`gen-enums: enum ${name} not found in header`);
  return parseEnumBody(m[1]);
}

/** Reads the header; returns every table with where each value came from. */
export function parseHeader(headerPath = DEFAULT_HEADER) {
  const src = stripComments(readFileSync(headerPath, 'utf8'));
  const tables = {
    bpf_cmd: namedEnum(src, 'bpf_cmd'),
    bpf_map_type: namedEnum(src, 'bpf_map_type'),
    bpf_prog_type: namedEnum(src, 'bpf_prog_type'),
    bpf_attach_type: namedEnum(src, 'bpf_attach_type'),
    bpf_link_type: namedEnum(src, 'bpf_link_type').filter(([n]) => n !== 'MAX_BPF_LINK_TYPE'),
  };
  const anon = [...src.matchAll(/enum\s*\{([\s\S]*?)\};/g)].find((m) => /\bBPF_F_NO_PREALLOC\b/.test(m[1]));
  if (!anon) throw new Error('gen-enums: map flags enum (BPF_F_NO_PREALLOC) not found');
  tables.map_flags = parseEnumBody(anon[1]);
  tables.prog_flags = [];
  for (const name of PROG_FLAG_NAMES) {
    const m = new RegExp(`#define\\s+${name}\\s+(\\([^)]*\\)|\\S+)`).exec(src);
    if (m) tables.prog_flags.push([name, evalExpr(m[1], new Map())]);
  }
  // Where each entry came from: the header, or the hand-maintained block.
  const added = {};
  for (const [table, extra] of Object.entries(NEWER_THAN_HEADER)) {
    const rows = tables[table];
    for (const [name, value, version] of extra) {
      const have = rows.find(([n]) => n === name);
      if (have) {
        if (have[1] !== value) throw new Error(`gen-enums: ${name} is ${have[1]} in the header but ${value} in NEWER_THAN_HEADER`);
        continue;
      }
      if (rows.some(([, v]) => v === value) && table !== 'map_flags' && table !== 'prog_flags') {
        throw new Error(`gen-enums: ${name} = ${value} collides with a header value in ${table}`);
      }
      rows.push([name, value]);
      added[name] = version;
    }
    if (table !== 'map_flags' && table !== 'prog_flags') {
      // enum lists must stay dense: 0..n-1 (aliases allowed)
      const values = new Set(rows.map(([, v]) => v));
      for (let i = 0; i < values.size; i++) if (!values.has(i)) throw new Error(`gen-enums: ${table} has a hole at ${i}`);
    }
  }
  const ver = headerVersion(headerPath);
  return { tables, added, version: ver };
}

function headerVersion(headerPath) {
  const vh = path.join(path.dirname(headerPath), 'version.h');
  if (!existsSync(vh)) return 'unknown';
  const s = readFileSync(vh, 'utf8');
  const get = (k) => (new RegExp(`#define\\s+${k}\\s+(\\d+)`).exec(s) || [])[1];
  const major = get('LINUX_VERSION_MAJOR'), minor = get('LINUX_VERSION_PATCHLEVEL'), sub = get('LINUX_VERSION_SUBLEVEL');
  if (major) return `${major}.${minor}.${sub}`;
  const code = Number(get('LINUX_VERSION_CODE'));
  return code ? `${code >> 16}.${(code >> 8) & 255}.${code & 255}` : 'unknown';
}

const lower = (name, prefix) => name.slice(prefix.length).toLowerCase();

function objectLines(rows, key, added) {
  return rows.map(([name, value]) => {
    const note = added[name] ? ` // added by hand: Linux ${added[name]}` : '';
    return `  ${key(name)}: ${value},${note}`;
  }).join('\n');
}

function reverseLines(rows, key) {
  const seen = new Map();
  for (const [name, value] of rows) if (!seen.has(value)) seen.set(value, key(name));
  return [...seen].sort((a, b) => a[0] - b[0]).map(([v, n]) => `  ${v}: '${n}',`).join('\n');
}

/** Renders src/kernel/enums.ts (deterministic: no dates). */
export function render(parsed, headerPath = DEFAULT_HEADER) {
  const { tables, added, version } = parsed;
  const pt = (n) => lower(n, 'BPF_PROG_TYPE_');
  const mt = (n) => lower(n, 'BPF_MAP_TYPE_');
  const at = (n) => lower(n, 'BPF_');
  const lt = (n) => lower(n, 'BPF_LINK_TYPE_');
  const id = (n) => n;
  const handBlock = Object.entries(NEWER_THAN_HEADER).map(([table, rows]) =>
    rows.filter(([n]) => added[n]).map(([n, v, ver]) => ` *   ${n} = ${v} (${table}, Linux ${ver})`).join('\n')).filter(Boolean).join('\n');
  const flagConsts = [...tables.map_flags, ...tables.prog_flags]
    .map(([n, v]) => `export const ${n} = ${v};${added[n] ? ` // added by hand: Linux ${added[n]}` : ''}`).join('\n');
  const cmdConsts = tables.bpf_cmd.map(([n, v]) => `export const ${n} = ${v};${added[n] ? ` // added by hand: Linux ${added[n]}` : ''}`).join('\n');
  return `// GENERATED by scripts/gen-enums.mjs from ${headerPath} (linux-libc-dev, Linux ${version}).
// Do not edit by hand: change NEWER_THAN_HEADER in the generator and re-run it.
/* eslint-disable */

/**
 * Kernel enums and flag bits from the uapi header <linux/bpf.h>.
 *
 * Names follow the kernel's, lowercased and without the enum prefix:
 * BPF_PROG_TYPE_SCHED_CLS -> 'sched_cls', BPF_TRACE_FENTRY -> 'trace_fentry',
 * BPF_MAP_TYPE_PROG_ARRAY -> 'prog_array'. Commands and flags keep their C names.
 *
 * ADDED BY HAND (newer than the ${version} header this file was generated from;
 * values checked against the kernel's include/uapi/linux/bpf.h):
${handBlock || ' *   (none)'}
 */

/** The header's Linux version (from <linux/version.h>). */
export const UAPI_HEADER_VERSION = '${version}';

/** Constants the generator added by hand, with the Linux release that introduced them. */
export const ADDED_BY_HAND: Readonly<Record<string, string>> = {
${Object.entries(added).map(([n, v]) => `  ${n}: '${v}',`).join('\n')}
};

/** enum bpf_prog_type, name -> number. */
export const PROG_TYPES = {
${objectLines(tables.bpf_prog_type, pt, added)}
} as const;
export type ProgTypeName = keyof typeof PROG_TYPES;
/** enum bpf_prog_type, number -> name. */
export const PROG_TYPE_NAMES: Readonly<Record<number, ProgTypeName>> = {
${reverseLines(tables.bpf_prog_type, pt)}
};

/** enum bpf_attach_type, name -> number. */
export const ATTACH_TYPES = {
${objectLines(tables.bpf_attach_type, at, added)}
} as const;
export type AttachTypeName = keyof typeof ATTACH_TYPES;
/** enum bpf_attach_type, number -> name. */
export const ATTACH_TYPE_NAMES: Readonly<Record<number, AttachTypeName>> = {
${reverseLines(tables.bpf_attach_type, at)}
};

/** enum bpf_link_type, name -> number (what BPF_OBJ_GET_INFO_BY_FD says a link is). */
export const LINK_TYPES = {
${objectLines(tables.bpf_link_type, lt, added)}
} as const;
export type LinkTypeName = keyof typeof LINK_TYPES;
/** enum bpf_link_type, number -> name. */
export const LINK_TYPE_NAMES: Readonly<Record<number, LinkTypeName>> = {
${reverseLines(tables.bpf_link_type, lt)}
};

/** enum bpf_map_type, name -> number. */
export const MAP_TYPES = {
${objectLines(tables.bpf_map_type, mt, added)}
} as const;
export type MapTypeName = keyof typeof MAP_TYPES;
/** enum bpf_map_type, number -> name. */
export const MAP_TYPE_NAMES: Readonly<Record<number, MapTypeName>> = {
${reverseLines(tables.bpf_map_type, mt)}
};

/** enum bpf_cmd (first argument of bpf(2)), C name -> number. */
export const BPF_CMD = {
${objectLines(tables.bpf_cmd, id, added)}
} as const;
export type BpfCmdName = keyof typeof BPF_CMD;
/** enum bpf_cmd, number -> C name (aliases such as BPF_PROG_RUN map to the first name). */
export const BPF_CMD_NAMES: Readonly<Record<number, BpfCmdName>> = {
${reverseLines(tables.bpf_cmd, id)}
};
${cmdConsts}

/** map_flags of BPF_MAP_CREATE (anonymous enum in the header). */
export const MAP_FLAGS = {
${objectLines(tables.map_flags, id, added)}
} as const;

/** prog_flags of BPF_PROG_LOAD (#defines in the header). */
export const PROG_LOAD_FLAGS = {
${objectLines(tables.prog_flags, id, added)}
} as const;

${flagConsts}

/** enum libbpf_pin_type (bpf/bpf_helpers.h): the \`pinning\` member of a .maps definition. */
export const LIBBPF_PIN_NONE = 0;
export const LIBBPF_PIN_BY_NAME = 1;
export const PIN_TYPES = { none: LIBBPF_PIN_NONE, by_name: LIBBPF_PIN_BY_NAME } as const;

/** Whether \`name\` is a program type name ('xdp'), attach type name ('trace_fentry') or map type name ('hash'). */
export function isProgTypeName(name: string): name is ProgTypeName {
  return Object.prototype.hasOwnProperty.call(PROG_TYPES, name);
}
export function isAttachTypeName(name: string): name is AttachTypeName {
  return Object.prototype.hasOwnProperty.call(ATTACH_TYPES, name);
}
export function isMapTypeName(name: string): name is MapTypeName {
  return Object.prototype.hasOwnProperty.call(MAP_TYPES, name);
}

/** Program type number for a name ('xdp' -> 6); undefined when unknown. */
export function progTypeNumber(name: string): number | undefined {
  return isProgTypeName(name) ? PROG_TYPES[name] : undefined;
}
/** Attach type number for a name ('trace_fentry' -> 24); undefined when unknown. */
export function attachTypeNumber(name: string): number | undefined {
  return isAttachTypeName(name) ? ATTACH_TYPES[name] : undefined;
}
/** Map type number for a name ('prog_array' -> 3); undefined when unknown. */
export function mapTypeNumber(name: string): number | undefined {
  return isMapTypeName(name) ? MAP_TYPES[name] : undefined;
}
`;
}

/** Every C constant emitted, with its value: for the gcc cross-check in the unit test. */
export function cConstants(parsed) {
  const out = [];
  for (const table of ['bpf_cmd', 'bpf_map_type', 'bpf_prog_type', 'bpf_attach_type', 'bpf_link_type', 'map_flags', 'prog_flags']) {
    for (const [name, value] of parsed.tables[table]) out.push({ table, name, value, byHand: name in parsed.added });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const header = args.find((a) => !a.startsWith('--')) ?? DEFAULT_HEADER;
  const text = render(parseHeader(header), header);
  if (check) {
    const cur = existsSync(OUTPUT) ? readFileSync(OUTPUT, 'utf8') : '';
    if (cur !== text) { console.error(`${path.relative(root, OUTPUT)} is stale: run node scripts/gen-enums.mjs`); process.exit(1); }
    console.log(`${path.relative(root, OUTPUT)} is up to date`);
  } else {
    writeFileSync(OUTPUT, text);
    console.log(`wrote ${path.relative(root, OUTPUT)}`);
  }
}
