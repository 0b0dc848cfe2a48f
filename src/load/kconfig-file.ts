/**
 * The running kernel's config, read for `.kconfig` externs (libbpf's
 * bpf_object__read_kconfig_file): plain or gzip (/proc/config.gz), from the first of
 * kconfigPaths() that can be read. In src/load, not src/core: core computes the externs'
 * values from a config it is handed, and node:zlib is required here only for a gzipped
 * file (importing it loads Node's stream modules too: ~2.5 ms of every CLI start).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CoreError, kconfigPaths, parseKconfig } from '../core/index.js';

/**
 * The running kernel's config: `path` (plain or gzip), else the first of kconfigPaths()
 * that can be read. Throws CoreError when none can be read.
 */
export function readKconfig(opts: { path?: string } = {}): Map<string, string> {
  const tries = opts.path ? [opts.path] : kconfigPaths();
  const errors: string[] = [];
  for (const file of tries) {
    let bytes: Buffer;
    try { bytes = readFileSync(file); } catch (e) { errors.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); continue; }
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const { gunzipSync } = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
      try { bytes = gunzipSync(bytes); } catch (e) { throw new CoreError(`cannot gunzip kernel config: ${(e as Error).message}`, { file }, { cause: e }); }
    }
    return parseKconfig(bytes.toString('utf8'), file);
  }
  throw new CoreError(`no kernel config found (${errors.join('; ')}); CONFIG_* externs need one (CONFIG_IKCONFIG_PROC, or the distribution's /boot/config-R or /usr/lib/modules/R/config)`);
}
