/**
 * Why the kernel refused a program in a prog array. The kernel gives a prog array an
 * owner, the first program loaded that uses it (or else the first one put in it), and
 * then takes only programs that match the owner in type, JIT state, XDP frags, sleepable
 * and, on kernels with the CVE-2025-40123 fix (Linux 6.17, and stable releases since),
 * expected attach type (kernel/bpf/core.c __bpf_prog_map_compatible): anything else is
 * EINVAL from BPF_MAP_UPDATE_ELEM, which says none of this.
 */
import { TsbpfError, type ErrorContext } from '../errors.js';
import { BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS } from '../kernel/enums.js';
import { SyscallError } from '../sys/index.js';
import type { Program } from './program.js';

/** The program the kernel made the owner of prog array `map`: the first loaded that uses it, else `first`. */
export function progArrayOwner(map: string, loaded: Iterable<Program>, first: Program): Program {
  for (const p of loaded) {
    if (p.spec.instructions.some((i) => i.reference?.kind === 'map' && i.reference.name === map)) return p;
  }
  return first;
}

function traits(p: Program): Record<string, string> {
  const f = p.spec.flags;
  return {
    type: p.type,
    'expected attach type': p.spec.attachType ?? 'none',
    'XDP frags': (f & BPF_F_XDP_HAS_FRAGS) !== 0 ? 'yes' : 'no',
    sleepable: (f & BPF_F_SLEEPABLE) !== 0 ? 'yes' : 'no',
  };
}

/**
 * The error for a failed update of `map[slot]` with `prog`: when the kernel said EINVAL and
 * `prog` differs from the array's owner in what the kernel compares, an error that says
 * how; else `e` (located at the slot when it is a TsbpfError).
 */
export function progArrayRefusal(e: unknown, map: string, slot: number, prog: Program, owner: Program, where: ErrorContext): unknown {
  const located = { ...where, symbol: `${map}[${slot}] -> ${prog.name}` };
  if (!(e instanceof SyscallError) || e.code !== 'EINVAL' || owner === prog) return TsbpfError.wrap(e, located);
  const mine = traits(prog), theirs = traits(owner);
  const diff = Object.keys(mine).filter((k) => mine[k] !== theirs[k]);
  if (!diff.length) return TsbpfError.wrap(e, located);
  const list = (t: Record<string, string>) => diff.map((k) => `${k} ${t[k]}`).join(', ');
  return new TsbpfError(
    `prog array '${map}' refused '${prog.name}' in slot ${slot} (EINVAL): the array belongs to '${owner.name}', the first program loaded that uses it, and '${prog.name}' differs in ${list(mine)} against ${list(theirs)}; the kernel takes only programs that match the owner in type, XDP frags, sleepable and (Linux 6.17+ and kernels with the CVE-2025-40123 fix) expected attach type: give '${prog.name}' the owner's (ProgramSpec.attachType / .type, or --type ${prog.name}=SEC in the CLI)`,
    located, { cause: e });
}
