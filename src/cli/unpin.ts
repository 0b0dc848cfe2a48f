/** `--unpin DIR [objects]`: removes what `--pin DIR` pinned (only on bpffs). */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CollectionSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import { checkPinDir, EnvironmentError, PIN_ROOT } from './env.js';

function count(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    n += statSync(p).isDirectory() ? count(p) : 1;
  }
  return n;
}

/** Returns the lines to print. */
export function unpin(dir: string, specs: CollectionSpec[]): string[] {
  const out: string[] = [];
  if (existsSync(dir)) {
    checkPinDir(dir, '--unpin');
    const n = count(dir);
    rmSync(dir, { recursive: true });
    out.push(`unpinned ${n} object(s) under ${dir}`);
  } else if (!specs.length) {
    throw new EnvironmentError(`--unpin ${dir}: nothing is pinned there`);
  }
  for (const s of specs) {
    for (const m of s.maps.values()) {
      if (m.pinning !== PIN_BY_NAME) continue;
      const pinPath = path.join(PIN_ROOT, m.name);
      if (!existsSync(pinPath)) continue;
      rmSync(pinPath);
      out.push(`unpinned ${pinPath} (map '${m.name}' of ${s.file}, pinned by name)`);
    }
  }
  return out;
}
