// Reading the guest's serial console: forwards the command's output and picks out the
// markers /init prints (with a per-run nonce, so that the command cannot fake them):
//   TSBPF_VM_RUN:<nonce>          the command starts (boot done)
//   TSBPF_VM_EXIT:<nonce>=<n>     the command exited with n
//   TSBPF_VM_ERROR:<nonce>=<msg>  /init could not set the guest up
//   TSBPF_VM_WARN:<nonce>=<msg>   /init carries on without something (an optional module)
const PREFIX = 'TSBPF_VM_';

export class ConsoleParser {
  /** @param {string} nonce
   * @param {{ keepAfterExit?: boolean }} [opts] after the exit marker only the kernel's
   * power-off messages follow: dropped unless keepAfterExit */
  constructor(nonce, opts = {}) {
    this.nonce = nonce;
    this.keepAfterExit = !!opts.keepAfterExit;
    this.exited = false;
    this.pending = '';
    this.re = new RegExp(`${PREFIX}(RUN|EXIT|ERROR|WARN):${nonce}(?:=(.*))?$`);
  }

  /** Feeds a chunk of console text; returns { out, events } where out is the text to show
   * and events the markers seen, in order. */
  feed(chunk) {
    let text = this.pending + chunk;
    this.pending = '';
    let out = '';
    if (this.exited && !this.keepAfterExit) return { out, events: [] };
    const events = [];
    let nl;
    while ((nl = text.indexOf('\n')) >= 0) {
      let line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const at = line.indexOf(PREFIX);
      const m = at >= 0 ? this.re.exec(line.slice(at)) : null;
      if (m) {
        out += line.slice(0, at);
        if (m[1] === 'RUN') events.push({ type: 'run' });
        else if (m[1] === 'EXIT') {
          // the number only: kernel messages can land on the same console line after it
          const digits = /^\s*(\d+)/.exec(m[2] ?? '');
          events.push({ type: 'exit', code: digits ? Number(digits[1]) : NaN });
          this.exited = true;
          if (!this.keepAfterExit) return { out, events };
        }
        else if (m[1] === 'WARN') events.push({ type: 'warn', message: m[2] ?? '' });
        else events.push({ type: 'error', message: m[2] ?? '' });
      } else {
        out += line + '\n';
      }
    }
    // Hold back a partial line from where a marker could start (or a trailing \r).
    let hold = text.indexOf(PREFIX);
    if (hold < 0) {
      hold = text.length;
      for (let k = Math.min(PREFIX.length - 1, text.length); k > 0; k--) {
        if (text.endsWith(PREFIX.slice(0, k))) { hold = text.length - k; break; }
      }
      if (hold === text.length && text.endsWith('\r')) hold--;
    }
    out += text.slice(0, hold);
    this.pending = text.slice(hold);
    return { out, events };
  }

  /** Whatever is held back at the end of the stream. */
  flush() {
    const s = this.exited && !this.keepAfterExit ? '' : this.pending;
    this.pending = '';
    return s;
  }
}

/** The runner's exit status from what the guest reported: the command's own code; 125
 * when /init failed or the guest ended without reporting (kernel panic, qemu crash). */
export function exitStatus({ exitCode, error, timedOut }) {
  if (timedOut) return 124;
  if (error !== undefined) return 125;
  if (exitCode === undefined || Number.isNaN(exitCode)) return 125;
  return exitCode;
}
