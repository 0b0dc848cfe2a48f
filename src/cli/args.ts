/** Command line of `node bin/load.js`: options, usage text. Imports nothing. */

export const USAGE = `usage: node bin/load.js [options] <object.o>...
       node bin/load.js --unpin DIR [<object.o>...]

Loads clang-compiled BPF objects into the kernel and reports, per object: programs
(verdict, instructions, verified instructions, load time), maps, tail-call tables
(slot -> program), the tail-call graph found in the instructions, and what happens
at exit. Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN), except --no-load.

options:
  --pin DIR          keep everything loaded: programs at DIR/<prog>, maps at
                     DIR/maps/<map> (bpftool prog loadall OBJ DIR pinmaps DIR/maps);
                     with several objects, DIR/<object>/... per object
  --unpin DIR        remove what --pin DIR pinned (and, with objects given, their
                     maps pinned by name); loads nothing
  --json             one JSON document on stdout
  --junit FILE       JUnit XML: one test case per program (failure = verifier log tail)
  --log DIR          full verifier logs, DIR/<object>.<prog>.log, one per program
  --log-level N      verifier log level (1 = instructions, 2 = statistics; default 1)
  --set NAME=VALUE   set a global variable (.rodata volatile const, .data, .bss) before
                     load; VALUE is a number (42, -1, 0x2a), true/false, or a string
  --type PROG=TYPE   load PROG as TYPE: a kernel type (xdp, socket_filter, ...) or a
                     SEC() name (tc, kprobe, cgroup_skb/ingress, ...)
  --only PROG        load only PROG (repeatable); the others are skipped
  --create MAP       create MAP although the object says not to: a SEC("?.struct_ops")
                     or SEC("?.struct_ops.link") map (repeatable); its struct_ops
                     programs are then loaded too
  --btf FILE         target BTF for CO-RE relocations (default /sys/kernel/btf/vmlinux)
  --target PROG=REF  the BPF program PROG attaches to (freplace, or fentry/fexit on a
                     BPF function): REF is a pinned program (/sys/fs/bpf/...) or id:N,
                     with @FUNC for a function other than the section's (freplace/FUNC);
                     PROG is loaded even when its section starts with '?'
  --no-load          read the objects only (no privileges): programs, maps, tables, graph
  -h, --help         this text

exit codes: 0 every program accepted; 1 at least one rejected (or an object that
could not be loaded); 2 usage error, an object that cannot be read, or no privileges`;

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
  /** --target PROG=REF[@FUNC]: a pinned path or id:N. */
  targets: Array<{ program: string; ref: string; function?: string }>;
  noLoad: boolean;
  help: boolean;
}

/** A mistake on the command line: exit 2 with this one line. */
export class UsageError extends Error {}

const WITH_VALUE = new Set(['--pin', '--unpin', '--junit', '--log', '--log-level', '--set', '--type', '--only', '--create', '--btf', '--target']);

function pair(opt: string, v: string, what: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new UsageError(`${opt} ${v}: expected ${what}`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { files: [], json: false, set: [], types: [], only: [], create: [], targets: [], noLoad: false, help: false };
  let onlyFiles = false;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (onlyFiles || !a.startsWith('-') || a === '-') { o.files.push(a); continue; }
    if (a === '--') { onlyFiles = true; continue; }
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (WITH_VALUE.has(a) && v === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      v = argv[++i]!;
    } else if (!WITH_VALUE.has(a) && v !== undefined) {
      throw new UsageError(`${a} takes no value`);
    }
    switch (a) {
      case '-h': case '--help': o.help = true; break;
      case '--json': o.json = true; break;
      case '--no-load': o.noLoad = true; break;
      case '--pin': o.pin = v!; break;
      case '--unpin': o.unpin = v!; break;
      case '--junit': o.junit = v!; break;
      case '--log': o.logDir = v!; break;
      case '--btf': o.btf = v!; break;
      case '--log-level': {
        if (!/^\d+$/.test(v!) || Number(v) > 31) throw new UsageError(`--log-level ${v}: expected a number 0..31 (1 = instructions, 2 = statistics)`);
        o.logLevel = Number(v);
        break;
      }
      case '--set': { const [name, value] = pair(a, v!, 'NAME=VALUE'); o.set.push({ name, value }); break; }
      case '--type': { const [program, type] = pair(a, v!, 'PROG=TYPE'); o.types.push({ program, type }); break; }
      case '--only': if (!v) throw new UsageError('--only needs a program name'); o.only.push(v); break;
      case '--create': if (!v) throw new UsageError('--create needs a map name'); o.create.push(v); break;
      case '--target': {
        const [program, rest] = pair(a, v!, 'PROG=REF (a pinned program path or id:N, optionally @FUNC)');
        const at = rest.lastIndexOf('@');
        const ref = at > 0 ? rest.slice(0, at) : rest;
        if (!ref || (ref.startsWith('id:') && !/^id:\d+$/.test(ref))) throw new UsageError(`--target ${v}: REF is a pinned program path or id:N`);
        o.targets.push({ program, ref, ...(at > 0 ? { function: rest.slice(at + 1) } : {}) });
        break;
      }
      default: throw new UsageError(`unknown option ${a} (see --help)`);
    }
  }
  if (o.help) return o;
  if (o.unpin !== undefined) {
    if (o.pin !== undefined) throw new UsageError('--pin and --unpin do not go together');
    return o;
  }
  if (o.files.length === 0) throw new UsageError('no object given (see --help)');
  if (o.noLoad && (o.pin || o.logDir || o.junit)) throw new UsageError('--no-load loads nothing: --pin, --log and --junit need a load');
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
