/**
 * A BPF link: keeps a program (or a struct_ops map) attached while its fd is open or it
 * is pinned; close() detaches unless it is pinned.
 */
import { readSync } from 'node:fs';
import { TsbpfError } from '../errors.js';
import { Pinnable } from '../load/pin.js';
import { Fd, iterCreate, linkInfo, type LinkInfo } from '../sys/index.js';

export class Link extends Pinnable {
  constructor(fd: Fd, readonly description: string) { super(fd); }

  /** The kernel's view: link id, type and program id. */
  info(): LinkInfo { return linkInfo(this.fd); }

  /**
   * An iterator link (iter programs): runs the iterator once, from a new BPF_ITER_CREATE
   * fd read to its end, and returns what the program wrote (BPF_SEQ_PRINTF, bpf_seq_write).
   */
  readIter(): Buffer {
    let fd: number;
    try { fd = iterCreate(this.fd); } catch (e) { throw TsbpfError.wrap(e, { symbol: this.description }); }
    const iter = new Fd(fd, `iterator of ${this.description}`);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 << 10);
      for (;;) {
        let n: number;
        try { n = readSync(iter.value, buf, 0, buf.length, null); } catch (e) {
          throw new TsbpfError(`reading the iterator of ${this.description} failed: ${(e as Error).message}`, { symbol: this.description }, { cause: e });
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally { iter.close(); }
  }

  close(): void { this.fd.close(); }
}
