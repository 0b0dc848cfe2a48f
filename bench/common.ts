/** Shared by the benchmarks: building the C references against libbpf and the tsbpf JS to measure. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..');

export function die(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Make sure gcc and libbpf-dev are there; install them with apt when root, else say what is missing. */
function ensureToolchain(what: string): void {
  const missing: string[] = [];
  if (!have('gcc')) missing.push('gcc');
  if (!existsSync('/usr/include/bpf/libbpf.h')) missing.push('libbpf-dev');
  if (missing.length === 0) return;
  if (process.getuid?.() === 0 && have('apt-get')) {
    console.error(`bench: installing ${missing.join(' ')} with apt-get`);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return;
  }
  die(`${missing.join(' and ')} missing and not root: install them (e.g. apt-get install ${missing.join(' ')}) to build ${what}`);
}

/** Libraries of the references (-ldl: libbpf-load.c interposes syscall() with dlsym(RTLD_NEXT), exported by -rdynamic). */
const LINK = ['-lbpf', '-ldl'];

/** Build bench/<name>.c (linked with -lbpf) once per source version into a cache dir; return the binary path. */
export function buildReference(name: string): string {
  const src = join(here, `${name}.c`);
  // the shared header is part of what is built
  const hash = createHash('sha256').update(readFileSync(src)).update(readFileSync(join(here, 'libbpf-bench.h'))).update(LINK.join(' ')).digest('hex').slice(0, 12);
  const candidates = [join(root, 'node_modules', '.cache', 'tsbpf-bench'), join(tmpdir(), 'tsbpf-bench')];
  for (const dir of candidates) {
    const bin = join(dir, `${name}-${hash}`);
    if (existsSync(bin)) return bin;
  }
  ensureToolchain(`bench/${name}.c`);
  let lastErr: unknown;
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      const bin = join(dir, `${name}-${hash}`);
      execFileSync('gcc', ['-O2', '-Wall', '-rdynamic', '-o', bin, src, ...LINK], { stdio: ['ignore', 'inherit', 'inherit'] });
      return bin;
    } catch (e) { lastErr = e; }
  }
  die(`cannot build ${src}: ${(lastErr as Error).message}`);
}

/**
 * The code users run: `npm run build` (tsc + scripts/bundle.mjs), then the package entry
 * dist/tsbpf.mjs (the one-file bundle `import 'tsbpf'` resolves to), or with 'modules'
 * dist/index.js. `useSrc`: src/*.ts through tsx instead (no build).
 */
export function buildTsbpf(useSrc: boolean, what: 'bundle' | 'modules' = 'bundle'): { entry: string; how: string } {
  const srcEntry = { entry: join(root, 'src', 'index.ts'), how: 'src/*.ts through tsx' };
  if (useSrc) return srcEntry;
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, encoding: 'utf8' });
  const entry = join(root, 'dist', 'tsbpf.mjs');
  if (r.status !== 0 || !existsSync(entry)) {
    console.error(`bench: npm run build failed (${(r.stdout + r.stderr).split('\n')[0]}); measuring src/*.ts through tsx instead`);
    return srcEntry;
  }
  // modules: dist/index.js and the files it imports (what tsc made), for benchmarks that
  // also import src/sys directly and need the same module instances
  if (what === 'modules') return { entry: join(root, 'dist', 'index.js'), how: 'dist/*.js (tsc output) built by npm run build' };
  return { entry, how: 'dist/tsbpf.mjs, the package entry built by npm run build' };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
