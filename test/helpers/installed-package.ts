// The package as a user gets it: `npm pack` of this checkout (dist/ built by pretest;
// prepare is not run again), installed into an empty temporary directory.
//
// The install is `npm ci --prefer-offline` from a lockfile that pins the package's
// runtime dependencies to the versions this repository's package-lock.json holds: npm
// then takes them from its cache, where the repository's own `npm ci` put them (no
// registry lookup, so it works offline and on a fresh CI machine), and the test runs the
// versions the other tests ran.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Run = (cmd: string, args: string[], input?: string) => SpawnSyncReturns<string>;

export interface Installed {
  /** The project directory: package.json, package-lock.json, node_modules/tsbpf. */
  dir: string;
  /** The packed tarball (outside `dir`). */
  tarball: string;
  /** Paths inside the tarball, as `npm pack --json` lists them. */
  files: string[];
  /** Runs a command in `dir` (npx, node). */
  run: Run;
  /** Runs `node --input-type=module` with this program in `dir`. */
  node(program: string): SpawnSyncReturns<string>;
  remove(): void;
}

const npm = (cwd: string, args: string[]) => {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
};

export function installPackage(label: string): Installed {
  const tmp = mkdtempSync(path.join(tmpdir(), `tsbpf-${label}-`));
  try {
    const [packed] = JSON.parse(npm(root, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp])) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(tmp, packed!.filename);
    const dir = path.join(tmp, 'app');
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: Record<string, string> };
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const spec = `file:../${packed!.filename}`;
    const packages: Record<string, unknown> = {
      '': { dependencies: { tsbpf: spec } },
      'node_modules/tsbpf': { version: pkg.version, resolved: spec, dependencies: pkg.dependencies, bin: pkg.bin },
    };
    for (const [where, entry] of Object.entries(lock.packages)) if (where !== '' && !entry.dev) packages[where] = entry;
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies: { tsbpf: spec } }, null, 2));
    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, requires: true, packages }, null, 2));
    npm(dir, ['ci', '--prefer-offline']);
    const run: Run = (cmd, args, input) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', input });
    return {
      dir, tarball, files: packed!.files.map((f) => f.path), run,
      node: (program) => run(process.execPath, ['--input-type=module', '-e', program]),
      remove: () => rmSync(tmp, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
