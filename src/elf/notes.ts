/**
 * ELF notes (the contents of a SHT_NOTE section such as `.note.stapsdt`): each an
 * Elf64_Nhdr (namesz, descsz, type: three u32), then the name and the descriptor, each
 * padded to 4 bytes. Pure: bytes in, notes out.
 */

/** One note: its name (trailing NULs dropped), type, descriptor bytes and offset in the section. */
export interface ElfNote { name: string; type: number; desc: Uint8Array; offset: number }

const align4 = (n: number) => (n + 3) & ~3;

/**
 * The notes of a note section's bytes (little-endian), one at a time: a note whose name or
 * descriptor runs past the end is the error `bad` makes of its offset and the reason.
 */
export function* elfNotes(bytes: Uint8Array, bad: (offset: number, why: string) => Error): Generator<ElfNote> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: false });
  let off = 0;
  while (off + 12 <= bytes.length) {
    const namesz = dv.getUint32(off, true), descsz = dv.getUint32(off + 4, true), type = dv.getUint32(off + 8, true);
    const nameAt = off + 12, descAt = nameAt + align4(namesz);
    if (descAt + descsz > bytes.length || nameAt + namesz > bytes.length) throw bad(off, `name (${namesz} bytes) or descriptor (${descsz} bytes) runs past the end of the section (${bytes.length} bytes)`);
    const name = dec.decode(bytes.subarray(nameAt, nameAt + namesz)).replace(/\0+$/, '');
    yield { name, type, desc: bytes.subarray(descAt, descAt + descsz), offset: off };
    off = descAt + align4(descsz);
  }
}
