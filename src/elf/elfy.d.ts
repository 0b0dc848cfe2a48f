// Minimal typing for the CommonJS package `elfy` (1.0.0), only the parts the adapter uses.
// Only its machine table is used (section-table.ts machineName); tests compare it with our reader.
declare module 'elfy' {
  namespace elfy {
    interface ElfyHeader {
      class: string; endian: string; type: string | undefined; machine: string | undefined;
      shoff: number; shnum: number; shentsize: number; shstrndx: number; flags: number;
      [key: string]: unknown;
    }
    interface ElfySection {
      /** Offset into .shstrtab until resolved. */
      name: number | string;
      type: string | number;
      flags: Record<string, boolean>;
      addr: number; off: number; size: number; link: number; info: number;
      addralign: number; entsize: number;
      data: Buffer;
    }
    interface ElfyParser {
      parseHeader(buf: Buffer): ElfyHeader;
      parseSections(buf: Buffer, header: ElfyHeader): ElfySection[];
      sliceChunks(buf: Buffer, off: number, count: number, size: number): Buffer[];
      parseSection(section: Buffer, header: ElfyHeader, buf: Buffer): ElfySection;
      mapFlags(value: number, map: Record<number, string>): Record<string, boolean>;
      resolveStr(strtab: Buffer, off: number): string;
      readUInt64(buf: Buffer, off: number): number;
    }
    const Parser: new () => ElfyParser;
    const constants: { machine: Record<number, string>; type: Record<number, string>; sectType: Record<number, string> };
    function parse(buf: Buffer): { body: { sections: ElfySection[] } } & ElfyHeader;
  }
  export = elfy;
}

// elfy's table of names (ELF machines, types, section types), without its parser.
declare module 'elfy/lib/elfy/constants.js' {
  const constants: { machine: Record<number, string>; type: Record<number, string>; sectType: Record<number, string> };
  export = constants;
}
