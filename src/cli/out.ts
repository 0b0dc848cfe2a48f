/**
 * Standard output for the CLI's report: writeSync on fd 1 instead of console.log, whose
 * process.stdout is a stream that loads ~20 of Node's stream modules on first use (~3 ms
 * and 1.4 MiB of a `node bin/load.js obj.o` start, issue 15). Where fd 1 cannot take a
 * synchronous write (a non-blocking pipe: EAGAIN), the rest goes through process.stdout,
 * which keeps the order of later writes; a reader that went away (EPIPE) is ignored, as
 * console.log ignores it.
 */
import { writeSync } from 'node:fs';

/** Writes `text` and a newline to standard output, as console.log(text) does. */
export function printLine(text: string): void {
  const buf = Buffer.from(`${text}\n`);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off, buf.length - off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') process.stdout.write(buf.subarray(off));
    else if (code !== 'EPIPE') throw e;
  }
}
