/** Map a verifier rejection of a poisoned instruction back to the CO-RE relocation that poisoned it. */
import { CORE_POISON_IMM, type CoreRelocationResult, type CoreResult } from './apply.js';

const POISON_CALL = new RegExp(`^\\s*(\\d+):\\s*\\(85\\)\\s*call\\s+unknown#${CORE_POISON_IMM}\\b`);

/**
 * If `log` (a verifier log) rejects a poisoned CO-RE instruction (`invalid func
 * unknown#195896080` after the instruction `N: (85) call unknown#195896080`), the
 * relocation that failed and a sentence saying so; else undefined.
 */
export function explainPoison(result: CoreResult, log: string): { relocation: CoreRelocationResult; message: string } | undefined {
  if (result.poisoned.length === 0 || !log.includes(String(CORE_POISON_IMM))) return undefined;
  const lines = log.split('\n');
  let slot: number | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = POISON_CALL.exec(lines[i]!);
    if (m) { slot = Number(m[1]); break; }
  }
  const rel = (slot !== undefined ? result.poisoned.find((r) => r.slot === slot || r.slot + 1 === slot) : undefined)
    ?? (result.poisoned.length === 1 ? result.poisoned[0] : undefined);
  if (!rel) return undefined;
  const message = `program '${result.program}': instruction ${rel.slot} was poisoned by CO-RE relocation #${rel.index} ` +
    `(${rel.kind} ${rel.access}): ${rel.poisonReason ?? 'unresolved in the target BTF'}; the verifier reached it`;
  return { relocation: rel, message };
}
