/** One BPF instruction. ld_imm64 (opcode 0x18) is ONE instruction of 16 bytes with a 64-bit constant. */

/** What an instruction refers to, recorded by the linker so lists can be spliced and fixed at encode time. */
export type Reference =
  /** ld_imm64 of a map fd (BPF_PSEUDO_MAP_FD) or of a map value address (BPF_PSEUDO_MAP_VALUE with `offset`). */
  | { kind: 'map'; name: string; offset?: number; value?: boolean }
  /** bpf-to-bpf call (src=BPF_PSEUDO_CALL) or ld_imm64 of a function address (src=BPF_PSEUDO_FUNC, callbacks). */
  | { kind: 'call' | 'func'; name: string }
  /** extern (kconfig / ksym) resolved at load time. */
  | { kind: 'extern'; name: string; weak?: boolean };

export interface Instruction {
  /** The full 8-bit opcode: class | size/source | mode/op. */
  opcode: number;
  dst: number;
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. For ld_imm64 the low 32 bits of `imm64`. */
  imm: number;
  /** ld_imm64 only: the whole 64-bit constant (low 32 = imm, high 32 from the second slot). */
  imm64?: bigint;
  /** Set by the linker. */
  reference?: Reference;
  /** Set by the linker on the first instruction of every function: its symbol name. */
  symbol?: string;
}
