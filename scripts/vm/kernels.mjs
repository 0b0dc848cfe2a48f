// Debian kernel packages: which one is the newest of a line (5.10 from bullseye, 6.1 and
// 6.12 from bookworm, 7.x from sid), resolved and downloaded with apt-get through a private
// sources list and state directory (~/.cache/tsbpf/apt/<dist>/), extracted with dpkg-deb
// into ~/.cache/tsbpf/kernels/<package>/.
// The parsing functions are pure (tested with apt-cache output as text fixtures).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync, renameSync, openSync, readSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tsbpf');
}

/**
 * The kernel lines `--kernel` takes: the Debian release whose archive carries each, and
 * how its packages are named. Up to Debian 13 one package holds a kernel
 * (`linux-image-5.10.0-<abi>-amd64-unsigned`, `linux-image-6.12.<patch>+deb12-amd64-unsigned`);
 * since Debian 14 (sid) three do (`split`): `linux-binary-unsigned-V` (the image at
 * /usr/lib/modules/V/vmlinuz.unsigned), `linux-modules-V` and `linux-base-V` (config,
 * modules.builtin, System.map). `7` is the newest 7.x in sid, `sid` the newest of any.
 * The table is lines.json (data, in the order people read them), which the CLI's
 * `--kernel` (src/cli/kernels.ts) reads too, to tell a line from a bzImage path.
 */
const LINES = JSON.parse(readFileSync(new URL('./lines.json', import.meta.url), 'utf8'));
export const KERNEL_LINES = Object.fromEntries(LINES.map(({ line, ...l }) => [line, l]));

/** The lines in the order people read them (object keys put '7' first). */
export const LINE_NAMES = LINES.map((l) => l.line);

/** Suites of each Debian release read through the private sources list. */
export const DIST_SUITES = {
  bullseye: ['bullseye', 'bullseye-updates', 'bullseye-security'],
  bookworm: ['bookworm', 'bookworm-updates', 'bookworm-security'],
  sid: ['sid'],
};

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The private sources.list of a Debian release (mirrors from TSBPF_DEBIAN_MIRROR and
 * TSBPF_DEBIAN_SECURITY_MIRROR, default deb.debian.org). */
export function sourcesList(dist, env = process.env) {
  const mirror = env.TSBPF_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
  const security = env.TSBPF_DEBIAN_SECURITY_MIRROR || 'http://deb.debian.org/debian-security';
  const suites = DIST_SUITES[dist];
  if (!suites) throw new Error(`unknown Debian release ${dist}`);
  return suites.map((s) => `deb [signed-by=${DEBIAN_KEYRING}] ${s.endsWith('-security') ? security : mirror} ${s} main\n`).join('');
}

/** A number that orders the packages of `line` (ABI, patch level, or x.y.z for the split
 * packages), or undefined when `name` is not a plain amd64 kernel of that line (cloud,
 * rt, dbg, signed images and other lines do not match). */
export function matchPackage(name, line) {
  const l = KERNEL_LINES[line];
  if (l?.split) {
    const m = /^linux-binary-unsigned-(\d+)\.(\d+)\.(\d+)\+deb\d+-amd64$/.exec(name);
    if (!m || (line !== 'sid' && m[1] !== line)) return undefined;
    return Number(m[1]) * 1e6 + Number(m[2]) * 1e3 + Number(m[3]);
  }
  const esc = line.replace(/\./g, '\\.');
  const m = new RegExp(`^linux-image-${esc}(?:\\.0-(\\d+)|\\.(\\d+)\\+deb\\d+)-amd64-unsigned$`).exec(name);
  if (!m) return undefined;
  return Number(m[1] ?? m[2]);
}

/** The apt-cache search pattern of a line. */
export function searchPattern(line) {
  return KERNEL_LINES[line]?.split ? '^linux-binary-unsigned-[0-9]' : `^linux-image-${line.replace(/\./g, '\\.')}`;
}

/** Every package of a kernel: the one named, or the three of a split kernel. */
export function packagesOf(name) {
  const m = /^linux-binary-unsigned-(.+)$/.exec(name);
  return m ? [name, `linux-modules-${m[1]}`, `linux-base-${m[1]}`] : [name];
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

/** Kernel release (uname -r) from a package name: linux-image-6.1.0-56-amd64-unsigned ->
 * 6.1.0-56-amd64, linux-binary-unsigned-7.2.13+deb14-amd64 -> 7.2.13+deb14-amd64. */
export function releaseOfPackage(pkg) {
  const m = /^linux-image-(.+)-unsigned$/.exec(pkg) ?? /^linux-binary-unsigned-(.+)$/.exec(pkg);
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

/** Lists older than this are refreshed before a line is resolved (sid moves daily). */
export const LISTS_MAX_AGE_MS = 12 * 3600 * 1000;

/**
 * apt-get / apt-cache with a private sources list, lists and package cache under
 * ~/.cache/tsbpf/apt/<dist>/: the machine's own apt sources are never read or changed.
 * Returns { dir, opts, update(), fresh() }.
 */
export function privateApt(dist) {
  const dir = path.join(cacheRoot(), 'apt', dist);
  const lists = path.join(dir, 'lists'), cache = path.join(dir, 'cache'), list = path.join(dir, 'sources.list');
  const text = sourcesList(dist);
  mkdirSync(path.join(lists, 'partial'), { recursive: true });
  mkdirSync(path.join(cache, 'archives', 'partial'), { recursive: true });
  // a changed mirror makes the old lists useless
  if (!existsSync(list) || readFileSync(list, 'utf8') !== text) { writeFileSync(list, text); rmSync(path.join(dir, '.updated'), { force: true }); }
  const opts = [
    '-o', `Dir::Etc::sourcelist=${list}`, '-o', 'Dir::Etc::sourceparts=-',
    '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache=${cache}`,
  ];
  const stamp = path.join(dir, '.updated');
  return {
    dir, opts,
    fresh: () => { try { return Date.now() - statSync(stamp).mtimeMs < LISTS_MAX_AGE_MS; } catch { return false; } },
    update: () => {
      const r = run('apt-get', [...opts, 'update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`apt-get update of the ${dist} lists (${list}) failed (exit ${r.status}):\n${r.stderr}`);
      writeFileSync(stamp, `${new Date().toISOString()}\n`);
    },
  };
}

/** Newest package of a line from the private apt lists of its Debian release, refreshed
 * when missing or older than LISTS_MAX_AGE_MS. Falls back to the newest cached package
 * when apt cannot answer. Returns { name, version, packages, dist, aptOpts }. */
export function resolvePackage(line, log) {
  const l = KERNEL_LINES[line];
  if (!l) throw new Error(`unknown kernel line ${line} (known: ${LINE_NAMES.join(', ')})`);
  let name, apt;
  try {
    apt = privateApt(l.dist);
    if (!apt.fresh()) {
      const t = Date.now();
      log?.(`apt-get update of the private ${l.dist} lists (${apt.dir})…`);
      apt.update();
      log?.(`updated (${((Date.now() - t) / 1000).toFixed(1)}s)`);
    }
    name = pickNewest(run('apt-cache', [...apt.opts, 'search', '--names-only', searchPattern(line)]).stdout ?? '', line);
  } catch (e) {
    log?.(`apt failed (${e.message.trim()})`);
  }
  if (!name) {
    const cached = cachedPackages(line);
    if (cached.length) {
      log?.(`apt cannot resolve ${line}; using the newest cached package`);
      return { name: cached[0], version: undefined, packages: packagesOf(cached[0]), dist: l.dist, aptOpts: apt?.opts ?? [] };
    }
    throw new Error(`no Debian package found for kernel line ${line} in ${l.dist} (${l.split ? 'linux-binary-unsigned-V-amd64' : `linux-image-${line}.0-N-amd64-unsigned or linux-image-${line}.N+debNN-amd64-unsigned`}; apt-cache search ${searchPattern(line)} with the lists in ${apt?.dir ?? cacheRoot()})`);
  }
  let version;
  try { version = parsePolicyCandidate(run('apt-cache', [...apt.opts, 'policy', name]).stdout ?? ''); } catch { /* version is informative only */ }
  return { name, version, packages: packagesOf(name), dist: l.dist, aptOpts: apt.opts };
}

/** Cached, fully extracted packages of a line, newest first. */
export function cachedPackages(line) {
  const dir = path.join(cacheRoot(), 'kernels');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => matchPackage(n, line) !== undefined && existsSync(path.join(dir, n, '.complete')))
    .sort((a, b) => matchPackage(b, line) - matchPackage(a, line));
}

/** Where a kernel's files are in an extracted package tree: the image, the modules
 * directory and the config, for either layout (/boot + /lib/modules, or everything under
 * /usr/lib/modules/V). */
export function kernelFiles(root) {
  const boot = path.join(root, 'boot');
  const vmlinuz = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (vmlinuz) {
    const release = vmlinuz.slice('vmlinuz-'.length);
    return { kernel: path.join(boot, vmlinuz), release, modules: path.join(root, 'lib', 'modules', release), config: path.join(boot, `config-${release}`) };
  }
  const mods = path.join(root, 'usr', 'lib', 'modules');
  const release = existsSync(mods) ? readdirSync(mods).find((r) => existsSync(path.join(mods, r, 'vmlinuz.unsigned')) || existsSync(path.join(mods, r, 'vmlinuz'))) : undefined;
  if (!release) throw new Error(`no kernel image in ${root} (neither boot/vmlinuz-* nor usr/lib/modules/*/vmlinuz*)`);
  const dir = path.join(mods, release);
  const kernel = existsSync(path.join(dir, 'vmlinuz.unsigned')) ? path.join(dir, 'vmlinuz.unsigned') : path.join(dir, 'vmlinuz');
  return { kernel, release, modules: dir, config: path.join(dir, 'config') };
}

/** Downloads and extracts a kernel's packages (`packages`, default the one named) unless
 * cached. `aptOpts`: the private apt options of its Debian release. Returns { dir, kernel,
 * modules, config, release, downloaded, deb }. */
export function fetchPackage(pkg, log, { packages = packagesOf(pkg), aptOpts = [] } = {}) {
  const dir = path.join(cacheRoot(), 'kernels', pkg);
  const root = path.join(dir, 'root');
  let downloaded = false;
  if (!existsSync(path.join(dir, '.complete'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t0 = Date.now();
    log?.(`downloading ${packages.join(' ')} (apt-get download)…`);
    // As root apt warns that _apt cannot write into the directory and downloads unsandboxed: harmless.
    const r = run('apt-get', [...aptOpts, 'download', '-q', ...packages], { cwd: dir });
    if (r.status !== 0) throw new Error(`apt-get download ${packages.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
    const debs = readdirSync(dir).filter((f) => f.endsWith('.deb')).sort();
    if (debs.length !== packages.length) throw new Error(`apt-get download ${packages.join(' ')} left ${debs.length} .deb files in ${dir}`);
    log?.(`downloaded ${debs.join(' ')} (${((Date.now() - t0) / 1000).toFixed(1)}s); extracting (dpkg-deb -x)…`);
    const t1 = Date.now();
    const tmp = `${root}.tmp`;
    for (const deb of debs) {
      const x = run('dpkg-deb', ['-x', path.join(dir, deb), tmp]);
      if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed (exit ${x.status}):\n${x.stderr}`);
    }
    renameSync(tmp, root);
    for (const deb of debs) rmSync(path.join(dir, deb));
    writeFileSync(path.join(dir, '.complete'), `${debs.join(' ')}\n`);
    log?.(`extracted (${((Date.now() - t1) / 1000).toFixed(1)}s)`);
    downloaded = true;
  }
  const f = kernelFiles(root);
  return { dir, ...f, config: existsSync(f.config) ? f.config : undefined, downloaded, deb: readFileSync(path.join(dir, '.complete'), 'utf8').trim() };
}
