/**
 * The static tail-call graph: where a program calls `bpf_tail_call` (helper 12), which
 * prog array is in r2 and which slot is in r3 at that point.
 *
 * A small forward data-flow pass over the linked instructions: each register holds a
 * set of constants, a set of map references (ld_imm64 of a map), or "unknown". Paths
 * join by union (more than 64 values -> unknown), so `r3 = 146; if ... goto +1; r3 = 135`
 * gives {135, 146}. Anything the pass does not model (loads, calls, most ALU on unknown
 * values) makes a register unknown: the result over-approximates, never guesses.
 * Pure: no syscalls; imports only types and opcode constants.
 */
import { rawOffsets, slotToIndex } from '../asm/codec.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, OP_LD_IMM64 } from '../asm/opcodes.js';
import type { Instruction } from '../asm/types.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../spec/types.js';

const HELPER_TAIL_CALL = 12;
const MAX_VALUES = 64;

/** A register's abstract value: null = unknown. */
type Val = null | { c: bigint[] } | { m: string[] };
type State = Val[];

/** One `call bpf_tail_call` in a program. */
export interface TailCallSite {
  /** The program (entry) whose instructions hold the call. */
  program: string;
  /** Instruction slot of the call, in the linked program. */
  insn: number;
  /** The prog array in r2; undefined when not known statically. */
  map?: string;
  /** Slots (constant r3 values), or '*' when r3 is not a constant. */
  slots: number[] | '*';
}

const M64 = (1n << 64n) - 1n;

function join(a: Val, b: Val): Val {
  if (a === null || b === null) return null;
  if ('c' in a && 'c' in b) {
    const s = new Set([...a.c, ...b.c]);
    return s.size > MAX_VALUES ? null : { c: [...s] };
  }
  if ('m' in a && 'm' in b) {
    const s = new Set([...a.m, ...b.m]);
    return { m: [...s] };
  }
  return null;
}

function same(a: Val, b: Val): boolean {
  if (a === null || b === null) return a === b;
  const x = 'c' in a ? a.c : a.m;
  const y = 'c' in b ? b.c : b.m;
  if (('c' in a) !== ('c' in b) || x.length !== y.length) return false;
  const s = new Set<unknown>(x);
  return (y as unknown[]).every((v) => s.has(v));
}

function aluConst(op: number, a: bigint, b: bigint, is64: boolean): bigint | undefined {
  const bits = is64 ? 64 : 32;
  const mask = is64 ? M64 : 0xffffffffn;
  a &= mask; b &= mask;
  let r: bigint;
  switch (op) {
    case 0x00: r = a + b; break; // add
    case 0x10: r = a - b; break; // sub
    case 0x20: r = a * b; break; // mul
    case 0x30: if (b === 0n) return undefined; r = a / b; break; // div (unsigned)
    case 0x40: r = a | b; break; // or
    case 0x50: r = a & b; break; // and
    case 0x60: r = a << (b & BigInt(bits - 1)); break; // lsh
    case 0x70: r = a >> (b & BigInt(bits - 1)); break; // rsh
    case 0x90: if (b === 0n) return undefined; r = a % b; break; // mod (unsigned)
    case 0xa0: r = a ^ b; break; // xor
    case 0xb0: r = b; break; // mov
    default: return undefined;
  }
  return BigInt.asUintN(bits, r);
}

/** The effect of one ALU / ALU64 instruction on `regs` (in place). */
function alu(regs: State, i: Instruction): void {
  const is64 = (i.opcode & 7) === 7;
  const op = i.opcode & 0xf0;
  const useReg = (i.opcode & 0x08) !== 0;
  const d = i.dst;
  if (op === 0xb0 && i.off === 0) { // mov (not movsx)
    if (useReg) {
      const s = regs[i.src] ?? null;
      regs[d] = s === null ? null : 'm' in s ? (is64 ? s : null) : { c: s.c.map((v) => (is64 ? v : v & 0xffffffffn)) };
    } else {
      regs[d] = { c: [is64 ? BigInt.asUintN(64, BigInt(i.imm)) : BigInt(i.imm >>> 0)] };
    }
    return;
  }
  const a = regs[d] ?? null;
  let bs: bigint[] | undefined;
  if (useReg) { const s = regs[i.src] ?? null; bs = s !== null && 'c' in s ? s.c : undefined; }
  else bs = [is64 ? BigInt.asUintN(64, BigInt(i.imm)) : BigInt(i.imm >>> 0)];
  if (a === null || !('c' in a) || bs === undefined || i.off !== 0) { regs[d] = null; return; }
  const out = new Set<bigint>();
  for (const x of a.c) for (const y of bs) {
    const r = aluConst(op, x, y, is64);
    if (r === undefined) { regs[d] = null; return; }
    out.add(r);
    if (out.size > MAX_VALUES) { regs[d] = null; return; }
  }
  regs[d] = { c: [...out] };
}

function clobberCall(regs: State): void {
  for (let r = 0; r <= 5; r++) regs[r] = null;
}

/** Finds every bpf_tail_call in `p`'s instructions, with the map and slots reaching it. */
export function tailCallSites(p: ProgramSpec): TailCallSite[] {
  const insns = p.instructions;
  const n = insns.length;
  const slotOf = rawOffsets(insns);

  const states: Array<State | undefined> = new Array(n);
  const work: number[] = [];
  const unknown = (): State => new Array<Val>(11).fill(null);
  const flow = (k: number | undefined, regs: State): void => {
    if (k === undefined || k < 0 || k >= n) return;
    const old = states[k];
    if (!old) { states[k] = regs.slice(); work.push(k); return; }
    let changed = false;
    for (let r = 0; r < 11; r++) {
      const j = join(old[r] ?? null, regs[r] ?? null);
      if (!same(j, old[r] ?? null)) { old[r] = j; changed = true; }
    }
    if (changed) work.push(k);
  };
  const targetIndex = (k: number, rel: number): number | undefined => {
    const i = slotToIndex(slotOf, slotOf[k]! + 1 + rel);
    return i >= 0 ? i : undefined;
  };

  // entries: the program, every function start (subprograms, callbacks), every call target
  flow(0, unknown());
  for (let k = 1; k < n; k++) if (insns[k]!.symbol) flow(k, unknown());

  const sites = new Map<number, { map: Set<string> | null; slots: Set<number> | null }>();
  while (work.length) {
    const k = work.pop()!;
    const i = insns[k]!;
    const regs = states[k]!.slice();
    const cls = i.opcode & 7;
    if (i.opcode === OP_LD_IMM64) {
      const ref = i.reference;
      regs[i.dst] = ref?.kind === 'map' && !ref.value ? { m: [ref.name] } : ref ? null : { c: [BigInt.asUintN(64, i.imm64 ?? BigInt(i.imm))] };
      if (i.src === BPF_PSEUDO_FUNC) flow(targetIndex(k, i.imm + 1), unknown()); // BPF_PSEUDO_FUNC: callback body (rel. to the 2nd slot)
      flow(k + 1, regs);
      continue;
    }
    switch (cls) {
      case 0: clobberCall(regs); flow(k + 1, regs); break; // legacy LD_ABS / LD_IND
      case 1: regs[i.dst] = null; flow(k + 1, regs); break; // LDX
      case 2: flow(k + 1, regs); break; // ST
      case 3: // STX; atomics may write src / r0 (and load-acquire dst)
        if ((i.opcode & 0xe0) === 0xc0) { regs[i.src] = null; regs[0] = null; regs[i.dst] = null; }
        flow(k + 1, regs);
        break;
      case 4: case 7: alu(regs, i); flow(k + 1, regs); break;
      case 5: case 6: {
        const op = i.opcode & 0xf0;
        if (op === 0x90) break; // exit
        if (op === 0x80 && cls === 5) { // call
          if (i.src === 0 && i.imm === HELPER_TAIL_CALL) {
            const r2 = regs[2] ?? null; const r3 = regs[3] ?? null;
            const prev = sites.get(k) ?? { map: new Set<string>(), slots: new Set<number>() };
            if (r2 !== null && 'm' in r2 && prev.map) r2.m.forEach((m) => prev.map!.add(m)); else prev.map = null;
            if (r3 !== null && 'c' in r3 && prev.slots) r3.c.forEach((v) => prev.slots!.add(Number(v & 0xffffffffn))); else prev.slots = null;
            sites.set(k, prev);
          }
          if (i.src === BPF_PSEUDO_CALL) flow(targetIndex(k, i.imm), unknown()); // bpf-to-bpf call: analyse the callee too
          clobberCall(regs);
          flow(k + 1, regs);
          break;
        }
        if (op === 0x00) { // ja / gotol
          flow(targetIndex(k, cls === 6 ? i.imm : i.off), regs);
          break;
        }
        flow(targetIndex(k, i.off), regs); // conditional (incl. may_goto): both ways
        flow(k + 1, regs);
        break;
      }
    }
  }
  return [...sites.entries()].sort((a, b) => a[0] - b[0]).flatMap(([k, v]) => {
    const slots = v.slots ? [...v.slots].sort((a, b) => a - b) : '*' as const;
    if (v.map && v.map.size > 0) return [...v.map].map((m) => ({ program: p.name, insn: slotOf[k]!, map: m, slots }));
    return [{ program: p.name, insn: slotOf[k]!, slots }];
  });
}

/** One edge of the graph: `program -> map[slot] -> target`. */
export interface TailCallEdge {
  from: string;
  map?: string;
  /** A slot, or '*' for an index not known statically. */
  slot: number | '*';
  /** The program in that slot (undefined: the slot is empty, the tail call falls through). */
  to?: string;
  /** slot '*': the filled slots holding `to`. */
  slots?: number[];
  /** Call site (instruction slot in `from`). */
  insn: number;
}

export interface TailCallGraph {
  sites: TailCallSite[];
  edges: TailCallEdge[];
  /** Things a person should look at: empty slots that are called, filled slots never called, ... */
  findings: string[];
}

/**
 * The static graph of a collection: every site, its edges against the prog arrays'
 * `contents` (or `filled`, the slots really filled after a load: map -> slot -> program),
 * and findings.
 */
export function tailCallGraph(spec: CollectionSpec, filled?: Map<string, Map<number, string>>, programs?: Iterable<ProgramSpec>): TailCallGraph {
  const tables = new Map<string, { spec: MapSpec; slots: Map<number, string> }>();
  for (const m of spec.maps.values()) {
    if (m.type !== 'prog_array') continue;
    tables.set(m.name, { spec: m, slots: filled?.get(m.name) ?? new Map((m.contents ?? []).map((c) => [c.key, c.value])) });
  }
  const sites: TailCallSite[] = [];
  for (const p of programs ?? spec.programs.values()) sites.push(...tailCallSites(p));
  const edges: TailCallEdge[] = [];
  const findings: string[] = [];
  const called = new Map<string, Set<number> | '*'>();
  for (const site of sites) {
    if (site.map === undefined) {
      findings.push(`${site.program}: the tail call at insn ${site.insn} uses a prog array not known statically`);
      edges.push({ from: site.program, slot: '*', insn: site.insn });
      for (const t of tables.keys()) called.set(t, '*');
      continue;
    }
    const t = tables.get(site.map);
    if (site.slots === '*') {
      called.set(site.map, '*');
      const byTarget = new Map<string, number[]>();
      for (const [slot, to] of [...(t?.slots ?? [])].sort((a, b) => a[0] - b[0])) byTarget.set(to, [...(byTarget.get(to) ?? []), slot]);
      if (byTarget.size === 0) edges.push({ from: site.program, map: site.map, slot: '*', insn: site.insn });
      for (const [to, slots] of byTarget) edges.push({ from: site.program, map: site.map, slot: '*', to, slots, insn: site.insn });
      continue;
    }
    const c = called.get(site.map);
    if (c !== '*') called.set(site.map, new Set([...(c ?? []), ...site.slots]));
    for (const slot of site.slots) {
      const to = t?.slots.get(slot);
      edges.push({ from: site.program, map: site.map, slot, ...(to ? { to } : {}), insn: site.insn });
      if (to) continue;
      if (t && slot >= t.spec.maxEntries) findings.push(`${site.map}[${slot}]: called by ${site.program} (insn ${site.insn}) but beyond max_entries ${t.spec.maxEntries}: the tail call always falls through`);
      else findings.push(`${site.map}[${slot}]: called by ${site.program} (insn ${site.insn}) but nothing fills it: the tail call falls through`);
    }
  }
  for (const [name, t] of tables) {
    const c = called.get(name);
    if (c === '*') continue;
    for (const [slot, to] of [...t.slots.entries()].sort((a, b) => a[0] - b[0])) {
      if (!c?.has(slot)) findings.push(`${name}[${slot}] -> ${to}: filled, but no tail call in this object reaches it${c ? '' : ` (nothing here tail-calls through ${name})`}`);
    }
  }
  return { sites, edges, findings };
}
