/**
 * Command line of `node bin/load.js`: options, usage text. Imports only node:util.
 *
 * Node's `util.parseArgs` does the splitting (`--opt=value`, `--opt value`, `--`, `-h`,
 * repeated options with `multiple`) in strict mode: an unknown option, a flag given a
 * value, an option without its value, or a value that looks like an option (`--pin
 * --json`: write `--pin=-dir` for a value that starts with '-') is a usage error. What is
 * ours is below: the table of options, the checks of their values (PROG=TYPE pairs, number
 * ranges) and the checks across options. A usage error is one line (UsageError: main
 * prints it and exits 2).
 *
 * To add an option:
 *   1. a field in CliOptions (with its default in `defaults()` when it is a list or a flag);
 *   2. one entry in OPTIONS, in the order --help lists it: `flag(help, apply)` for a
 *      switch, `value(ARG, help, apply)` for an option that takes a value, `repeatable(...)`
 *      for one that may be given several times (apply runs once per value, in order).
 *      The help text is the usage text (indent it freely: lines are re-indented); `apply`
 *      checks the value (throw UsageError naming the option and the value) and stores it;
 *   3. checks across options, if any, at the end of parseArgs();
 *   4. a case in test/unit/cli.test.ts (the --help list and a usage error).
 * Nothing else: the parser's configuration and the usage text are made from OPTIONS.
 */
import { parseArgs as parseArgv } from 'node:util';

export interface CliOptions {
  files: string[];
  json: boolean;
  junit?: string;
  pin?: string;
  unpin?: string;
  logDir?: string;
  logLevel?: number;
  set: Array<{ name: string; value: string }>;
  types: Array<{ program: string; type: string }>;
  only: string[];
  /** Maps to create although their autocreate is off (`SEC("?.struct_ops")`). */
  create: string[];
  btf?: string;
  /** --max-map-bytes: the largest estimated kernel memory of one map (LoadOptions.limits.maxMapBytes). */
  maxMapBytes?: number;
  /** --target PROG=REF[@FUNC]: a pinned path or id:N. */
  targets: Array<{ program: string; ref: string; function?: string }>;
  /** --attach (auto-attach what the sections name) or --attach PROG=TARGET. */
  attach: boolean;
  attachTargets: Array<{ program: string; target: string }>;
  /** --duration S: stay attached (and read events) this long (default: until SIGINT / SIGTERM). */
  duration?: number;
  /** --events [MAP[=TYPE]]: maps to print the records of ({} for every perf/ring map). */
  events: Array<{ map?: string; type?: string }>;
  /** --trace: print bpf_printk lines. */
  trace: boolean;
  /** --count N: exit after N records (or trace lines without --events). */
  count?: number;
  noLoad: boolean;
  /** --features: print the kernel feature probes (no objects). */
  features: boolean;
  /** --kernel LIST: run the load inside these kernels (VM runner), not on this one. */
  kernels: string[];
  help: boolean;
}

const defaults = (): CliOptions => ({ files: [], json: false, set: [], types: [], only: [], create: [], targets: [], attach: false, attachTargets: [], events: [], trace: false, noLoad: false, features: false, kernels: [], help: false });

/** A mistake on the command line: exit 2 with this one line. */
export class UsageError extends Error {}

/** One option: how parseArgs reads it, its line(s) in --help, and what it does with its value. */
interface OptionDef {
  /** The value's name in --help (DIR, N, PROG=TYPE); absent for a flag. */
  arg?: string;
  multiple?: boolean;
  short?: string;
  help: string;
  /** Checks the value (throws UsageError) and stores it; once per value of a repeatable option. */
  apply(o: CliOptions, v: string): void;
}

const flag = (help: string, apply: (o: CliOptions) => void, short?: string): OptionDef => ({ help, apply, ...(short ? { short } : {}) });
const value = (arg: string, help: string, apply: (o: CliOptions, v: string) => void): OptionDef => ({ arg, help, apply });
const repeatable = (arg: string, help: string, apply: (o: CliOptions, v: string) => void): OptionDef => ({ arg, help, apply, multiple: true });

/** NAME=VALUE: the two sides, NAME not empty. */
function pair(opt: string, v: string, what: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new UsageError(`${opt} ${v}: expected ${what}`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

/** Every option, in the order --help lists them. */
const OPTIONS: Record<string, OptionDef> = {
  pin: value('DIR', `
    keep everything loaded: programs at DIR/<prog>, maps at
    DIR/maps/<map> (bpftool prog loadall OBJ DIR pinmaps DIR/maps);
    with several objects, DIR/<object>/... per object`,
  (o, v) => { o.pin = v; }),
  unpin: value('DIR', `
    remove what --pin DIR pinned and nothing else: the pins its
    manifest (DIR/tsbpf-pins) lists, or, with objects given, their
    layout under DIR and their maps pinned by name; loads nothing`,
  (o, v) => { o.unpin = v; }),
  json: flag('one JSON document on stdout', (o) => { o.json = true; }),
  junit: value('FILE', 'JUnit XML: one test case per program (failure = verifier log tail)', (o, v) => { o.junit = v; }),
  log: value('DIR', 'full verifier logs, DIR/<object>.<prog>.log, one per program', (o, v) => { o.logDir = v; }),
  'log-level': value('N', 'verifier log level (1 = instructions, 2 = statistics; default 1)', (o, v) => {
    if (!/^\d+$/.test(v) || Number(v) > 31) throw new UsageError(`--log-level ${v}: expected a number 0..31 (1 = instructions, 2 = statistics)`);
    o.logLevel = Number(v);
  }),
  set: repeatable('NAME=VALUE', `
    set a global variable (.rodata volatile const, .data, .bss) before
    load; VALUE is a number (42, -1, 0x2a), true/false, or a string`,
  (o, v) => { const [name, val] = pair('--set', v, 'NAME=VALUE'); o.set.push({ name, value: val }); }),
  type: repeatable('PROG=TYPE', `
    load PROG as TYPE: a SEC() name (xdp, tc, kprobe, sk_lookup,
    cgroup_skb/ingress, ...: its type, expected attach type and flags,
    as libbpf gives that section) or a kernel program type
    (socket_filter, sched_cls, ...); for a program whose section no
    table knows, which otherwise fails to load`,
  (o, v) => { const [program, type] = pair('--type', v, 'PROG=TYPE'); o.types.push({ program, type }); }),
  only: repeatable('PROG', 'load only PROG (repeatable); the others are skipped', (o, v) => {
    if (!v) throw new UsageError('--only needs a program name');
    o.only.push(v);
  }),
  create: repeatable('MAP', `
    create MAP although the object says not to: a SEC("?.struct_ops")
    or SEC("?.struct_ops.link") map (repeatable); its struct_ops
    programs are then loaded too`,
  (o, v) => {
    if (!v) throw new UsageError('--create needs a map name');
    o.create.push(v);
  }),
  btf: value('FILE', 'target BTF for CO-RE relocations (default /sys/kernel/btf/vmlinux)', (o, v) => { o.btf = v; }),
  'max-map-bytes': value('N', `
    refuse (before creating anything) a map whose kernel memory,
    estimated from its type, sizes and max_entries, is over N bytes
    (suffix K, M or G: KiB, MiB, GiB; default 1G)`,
  (o, v) => {
    const m = /^(\d+)([kmg]?)$/i.exec(v);
    if (!m) throw new UsageError(`--max-map-bytes ${v}: expected a number of bytes, optionally with K, M or G (1G = 1073741824)`);
    o.maxMapBytes = Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
  }),
  target: repeatable('PROG=REF', `
    the BPF program PROG attaches to (freplace, or fentry/fexit on a
    BPF function): REF is a pinned program (/sys/fs/bpf/...) or id:N,
    with @FUNC for a function other than the section's (freplace/FUNC);
    PROG is loaded even when its section starts with '?'`,
  (o, v) => {
    const [program, rest] = pair('--target', v, 'PROG=REF (a pinned program path or id:N, optionally @FUNC)');
    const atSign = rest.lastIndexOf('@');
    const ref = atSign > 0 ? rest.slice(0, atSign) : rest;
    if (!ref || (ref.startsWith('id:') && !/^id:\d+$/.test(ref))) throw new UsageError(`--target ${v}: REF is a pinned program path or id:N`);
    o.targets.push({ program, ref, ...(atSign > 0 ? { function: rest.slice(atSign + 1) } : {}) });
  }),
  attach: repeatable('[PROG=TARGET]', `
    attach what the sections name (kprobe/FUNC, uretprobe//bin/bash:readline,
    tp/CAT/NAME, ...) and stay attached until SIGINT/SIGTERM or --duration,
    then detach and unload (with --pin: leave them attached, links pinned
    at DIR/links/<prog>). PROG=TARGET (repeatable) gives PROG its target:
    FUNC[+OFF] (kprobe), NAME (ksyscall), BINARY:SYMBOL[+OFF] (uprobe),
    CAT/NAME (tracepoint), IFNAME[:skb|drv|hw][@NETNS] (xdp),
    IFNAME:ingress|egress[@NETNS] (tc), /sys/fs/cgroup/PATH (cgroup),
    NETNS (sk_lookup), MAP (sk_msg, sk_skb), freq=HZ[,cpu=N] (perf_event)`,
  (o, v) => {
    o.attach = true;
    if (v === '') return; // bare --attach
    const [program, target] = pair('--attach', v, 'PROG=TARGET');
    if (!target) throw new UsageError(`--attach ${v}: empty TARGET`);
    o.attachTargets.push({ program, target });
  }),
  events: repeatable('[MAP[=TYPE]]', `
    print the records of a perf event array or ring buffer MAP as they
    come, decoded as TYPE (a BTF type of the object: 'struct event')
    or else as hex and the printable bytes; one line per map with the
    records read and lost at the end. Alone: every perf/ring map.
    With --json, JSON lines: {"event":{"map","cpu","data","value"}}`,
  (o, v) => {
    if (v === '') { o.events.push({}); return; } // bare --events
    const eq = v.indexOf('=');
    const map = eq < 0 ? v : v.slice(0, eq);
    const type = eq < 0 ? undefined : v.slice(eq + 1).trim();
    if (!map) throw new UsageError(`--events ${v}: no map before '='`);
    if (type === '') throw new UsageError(`--events ${v}: no type after '='`);
    o.events.push(type === undefined ? { map } : { map, type });
  }),
  trace: flag('print bpf_printk lines (trace_pipe of a private tracefs instance)', (o) => { o.trace = true; }),
  count: value('N', 'with --events / --trace: exit after N records (trace lines without --events)', (o, v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--count ${v}: expected a number of records >= 1`);
    o.count = Number(v);
  }),
  duration: value('S', 'with --attach / --events / --trace: stop after S seconds (default: at SIGINT / SIGTERM)', (o, v) => {
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new UsageError(`--duration ${v}: expected a number of seconds > 0`);
    o.duration = Number(v);
  }),
  'no-load': flag('read the objects only (no privileges): programs, maps, tables, graph', (o) => { o.noLoad = true; }),
  features: flag(`
    probe this kernel and print what it has (program types, map types,
    helpers per program type, BTF kinds, link and attach types), each
    with the Linux release that brings it, as bpftool feature probe;
    with --json one JSON document. Takes no objects`,
  (o) => { o.features = true; }),
  kernel: repeatable('LIST', `
    load the objects inside other kernels instead of this one, each in a
    qemu VM (tsbpf-vm): LIST is comma-separated lines 5.10, 6.1, 6.12, 7,
    sid, or bzImage paths. One table object x program x kernel -> verdict;
    --json one document; --junit one test suite per kernel`,
  (o, v) => {
    const list = v.split(',').map((k) => k.trim()).filter(Boolean);
    if (!list.length) throw new UsageError(`--kernel ${v}: expected kernels such as 5.10,6.1`);
    o.kernels.push(...list);
  }),
  gen: flag(`
    write a typed TypeScript module for the object instead of loading it
    (tsbpf-gen: the other arguments are its own, see --gen --help)`,
  () => { /* main() hands the command line to tsbpf-gen before parsing it */ }),
  help: flag('this text', (o) => { o.help = true; }, 'h'),
};

/** The help column starts here; an option's continuation lines are indented to it. */
const HELP_COLUMN = 21;

function optionLines(): string {
  return Object.entries(OPTIONS).map(([name, d]) => {
    const left = `  ${d.short ? `-${d.short}, ` : ''}--${name}${d.arg ? ` ${d.arg}` : ''}`;
    const [first, ...rest] = d.help.trim().split('\n').map((l) => l.trim());
    const indent = (l: string) => ' '.repeat(HELP_COLUMN) + l;
    // an option too wide for the column has its help start on the next line
    const head = left.length < HELP_COLUMN - 1 ? [left.padEnd(HELP_COLUMN - 1) + ' ' + first] : [left, indent(first!)];
    return [...head, ...rest.map(indent)].join('\n');
  }).join('\n');
}

export const USAGE = `usage: node bin/load.js [options] <object.o>...
       node bin/load.js --unpin DIR [<object.o>...]
       node bin/load.js --features [--json]
       node bin/load.js --kernel 5.10,6.1 [options] <object.o>...

Loads clang-compiled BPF objects into the kernel and reports, per object: programs
(verdict, instructions, verified instructions, load time), maps, tail-call tables
(slot -> program), the tail-call graph found in the instructions, and what happens
at exit; with --attach, what each program is attached to (it stays attached until
Ctrl-C). Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN), except --no-load.

options:
${optionLines()}

exit codes: 0 every program accepted; 1 at least one rejected (or an object that
could not be loaded); 2 usage error, an object that cannot be read, or no privileges`;

/** What parseArgs() is told about each option. */
const CONFIG = Object.fromEntries(Object.entries(OPTIONS).map(([name, d]) => [name, {
  type: d.arg ? 'string' as const : 'boolean' as const,
  ...(d.multiple ? { multiple: true } : {}),
  ...(d.short ? { short: d.short } : {}),
}]));

/**
 * Node's strict mode refused argv: say why in one line of ours. The reason is found in
 * the tokens of a non-strict parse (typed fields, not Node's message text, which is
 * several lines and changes between versions); Node's first line if none is found.
 */
function refusal(argv: string[], e: Error): string {
  const { tokens } = parseArgv({ args: argv, options: CONFIG, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const d = Object.hasOwn(OPTIONS, t.name) ? OPTIONS[t.name]! : undefined;
    if (!d) return `unknown option ${t.rawName} (see --help)`;
    if (d.arg === undefined && t.value !== undefined) return `${t.rawName} takes no value`;
    if (d.arg !== undefined && t.value === undefined) return `${t.rawName} needs a value`;
    if (d.arg !== undefined && !t.inlineValue && t.value!.length > 1 && t.value!.startsWith('-')) {
      return `${t.rawName} needs a value, not ${t.value} (write ${t.rawName}=${t.value} for a value that starts with '-')`;
    }
  }
  return e.message.split('\n')[0]!;
}

function strictParse(argv: string[]) {
  try {
    return parseArgv({ args: argv, options: CONFIG, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(refusal(argv, e as Error));
  }
}

/**
 * `--attach` and `--events` are flags and options: alone (followed by nothing, an option or
 * an object) they become `--attach=` / `--events=`; otherwise they take the next argument:
 * PROG=TARGET for --attach, MAP[=TYPE] for --events (a map name has no '/' and does not end
 * in '.o', an object path does).
 */
function bareFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { out.push(...argv.slice(i)); break; }
    const next = argv[i + 1];
    const none = next === undefined || next.startsWith('-');
    if (a === '--attach' && (none || !next.includes('='))) out.push('--attach=');
    else if (a === '--events' && (none || (!next.includes('=') && (next.includes('/') || next.endsWith('.o'))))) out.push('--events=');
    else out.push(a);
  }
  return out;
}

export function parseArgs(argv: string[]): CliOptions {
  const parsed = strictParse(bareFlags(argv));
  const o = defaults();
  o.files = parsed.positionals;
  for (const [name, d] of Object.entries(OPTIONS)) {
    const v = parsed.values[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) d.apply(o, String(one));
  }
  if (o.help) return o;
  if (o.unpin !== undefined) {
    if (o.pin !== undefined) throw new UsageError('--pin and --unpin do not go together');
    return o;
  }
  if (o.features) {
    if (o.files.length) throw new UsageError('--features probes the kernel and takes no objects');
    if (o.kernels.length || o.pin || o.attach || o.noLoad || o.junit) throw new UsageError('--features goes alone (with --json)');
    return o;
  }
  if (o.files.length === 0) throw new UsageError('no object given (see --help)');
  if (o.kernels.length && (o.pin !== undefined || o.attach || o.noLoad || o.targets.length)) throw new UsageError('--kernel loads the objects inside VMs that stop afterwards: --pin, --attach, --target and --no-load do not go with it');
  if (o.noLoad && (o.pin || o.logDir || o.junit)) throw new UsageError('--no-load loads nothing: --pin, --log and --junit need a load');
  if (o.noLoad && o.attach) throw new UsageError('--no-load loads nothing: --attach needs a load');
  const reading = o.events.length > 0 || o.trace;
  if (o.noLoad && reading) throw new UsageError('--no-load loads nothing: --events and --trace need a load');
  if (o.duration !== undefined && !o.attach && !reading) throw new UsageError('--duration S is how long --attach stays attached (or --events / --trace read): give one of them too');
  if (o.count !== undefined && !reading) throw new UsageError('--count N is how many records --events (or lines --trace) prints: give one of them too');
  return o;
}

/** `--set` VALUE: integers (decimal, 0x, 0o, 0b, negative) as bigint, true/false, else the string. */
export function parseValue(v: string): bigint | boolean | string {
  if (/^[-+]?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.test(v)) {
    const neg = v.startsWith('-');
    const n = BigInt(v.replace(/^[-+]/, ''));
    return neg ? -n : n;
  }
  if (v === 'true' || v === 'false') return v === 'true';
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}
