// Debian kernel packages: which one is the newest of a line (6.1, 6.12), download it with
// apt-get into ~/.cache/tsbpf/kernels/<package>/ and extract it with dpkg-deb.
// The parsing functions are pure (tested with apt-cache output as text fixtures).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync, renameSync, openSync, readSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tsbpf');
}

/** Package-name pattern of a kernel line. 6.1 -> linux-image-6.1.0-<abi>-amd64-unsigned,
 * 6.12 -> linux-image-6.12.<patch>+deb12-amd64-unsigned. Returns the numbers to sort by. */
export function matchPackage(name, line) {
  const esc = line.replace(/\./g, '\\.');
  const m = new RegExp(`^linux-image-${esc}(?:\\.0-(\\d+)|\\.(\\d+)\\+deb\\d+)-amd64-unsigned$`).exec(name);
  if (!m) return undefined;
  return Number(m[1] ?? m[2]);
}

/** Parses `apt-cache search --names-only` output ("name - description" lines) and returns
 * the package of `line` with the highest ABI / patch number, or undefined. */
export function pickNewest(searchOutput, line) {
  let best;
  for (const raw of searchOutput.split('\n')) {
    const name = raw.split(' - ')[0].trim();
    const n = matchPackage(name, line);
    if (n === undefined) continue;
    if (!best || n > best.n) best = { name, n };
  }
  return best?.name;
}

/** Candidate version from `apt-cache policy <pkg>` output. */
export function parsePolicyCandidate(policyOutput) {
  const m = /^\s*Candidate:\s*(\S+)/m.exec(policyOutput);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

/** Kernel release (uname -r) from a package name: linux-image-6.1.0-56-amd64-unsigned -> 6.1.0-56-amd64. */
export function releaseOfPackage(pkg) {
  const m = /^linux-image-(.+)-unsigned$/.exec(pkg);
  return m ? m[1] : undefined;
}

/** Version string of a bzImage (the kernel_version pointer at 0x20e of the setup header),
 * e.g. "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP ...". */
export function bzImageVersion(file) {
  const fd = openSync(file, 'r');
  try {
    const hdr = Buffer.alloc(0x210);
    if (readSync(fd, hdr, 0, hdr.length, 0) < hdr.length || hdr.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
    const off = hdr.readUInt16LE(0x20e) + 0x200;
    const s = Buffer.alloc(256);
    readSync(fd, s, 0, s.length, off);
    const str = s.toString('latin1');
    return str.slice(0, str.indexOf('\0'));
  } finally { closeSync(fd); }
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

/** Newest package of a line from the apt lists; runs `apt-get update` once when the lists
 * know nothing about it. Falls back to the newest cached package when apt cannot answer. */
export function resolvePackage(line, log) {
  const pattern = `^linux-image-${line.replace(/\./g, '\\.')}`;
  const search = () => run('apt-cache', ['search', '--names-only', pattern]).stdout ?? '';
  let name;
  try {
    name = pickNewest(search(), line);
    if (!name) {
      log?.(`apt lists know no linux-image-${line}: apt-get update`);
      run('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
      name = pickNewest(search(), line);
    }
  } catch (e) {
    log?.(`apt-cache failed (${e.message})`);
  }
  if (!name) {
    const cached = cachedPackages(line);
    if (cached.length) {
      log?.(`apt cannot resolve ${line}; using the newest cached package`);
      return { name: cached[0], version: undefined };
    }
    throw new Error(`no Debian package found for kernel line ${line} (looked for linux-image-${line}.0-N-amd64-unsigned and linux-image-${line}.N+deb12-amd64-unsigned with apt-cache search)`);
  }
  let version;
  try { version = parsePolicyCandidate(run('apt-cache', ['policy', name]).stdout ?? ''); } catch { /* version is informative only */ }
  return { name, version };
}

/** Cached, fully extracted packages of a line, newest first. */
export function cachedPackages(line) {
  const dir = path.join(cacheRoot(), 'kernels');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => matchPackage(n, line) !== undefined && existsSync(path.join(dir, n, '.complete')))
    .sort((a, b) => matchPackage(b, line) - matchPackage(a, line));
}

/** Downloads and extracts a package unless cached. Returns { dir, kernel, modules, release, downloaded }. */
export function fetchPackage(pkg, log) {
  const dir = path.join(cacheRoot(), 'kernels', pkg);
  const root = path.join(dir, 'root');
  let downloaded = false;
  if (!existsSync(path.join(dir, '.complete'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t0 = Date.now();
    log?.(`downloading ${pkg} (apt-get download)…`);
    // As root apt warns that _apt cannot write into the directory and downloads unsandboxed: harmless.
    const r = run('apt-get', ['download', '-q', pkg], { cwd: dir });
    if (r.status !== 0) throw new Error(`apt-get download ${pkg} failed (exit ${r.status}):\n${r.stderr}`);
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
    log?.(`downloaded ${deb} (${((Date.now() - t0) / 1000).toFixed(1)}s); extracting (dpkg-deb -x)…`);
    const t1 = Date.now();
    const tmp = `${root}.tmp`;
    const x = run('dpkg-deb', ['-x', path.join(dir, deb), tmp]);
    if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed (exit ${x.status}):\n${x.stderr}`);
    renameSync(tmp, root);
    rmSync(path.join(dir, deb));
    writeFileSync(path.join(dir, '.complete'), `${deb}\n`);
    log?.(`extracted (${((Date.now() - t1) / 1000).toFixed(1)}s)`);
    downloaded = true;
  }
  const boot = path.join(root, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${boot}`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modules = path.join(root, 'lib', 'modules', release);
  return { dir, kernel: path.join(boot, vmlinuz), modules, release, downloaded, deb: readFileSync(path.join(dir, '.complete'), 'utf8').trim() };
}
