// The guest's initramfs: busybox-static, the modules the kernel needs to reach the host
// over virtio-9p plus a few optional ones the tests use (decompressed, in dependency
// order), and an /init that mounts the host root read-only, the project read-write and the
// kernel filesystems, then runs the command in a chroot. Written as a newc cpio by this
// file (no cpio tool, no root needed for device nodes). A small per-run archive (the
// command) is appended at boot.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

/** Modules wanted, in the order a human would list them; each is loaded after its
 * dependencies. Absent or built-in ones are skipped. */
export const WANTED_MODULES = [
  'virtio', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci',
  'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p',
];
/** Without these (as module or built in) the guest cannot mount the host. */
export const REQUIRED_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
/** Modules loaded when the kernel has them as modules, after the wanted ones, with their
 * dependencies and soft dependencies; one that fails to load is a warning, not an error.
 * nf_conntrack: the kfuncs bpf_xdp_ct_lookup/bpf_ct_release in module BTF
 * (/sys/kernel/btf/nf_conntrack), for the module kfunc and module fentry tests.
 * x_tables: a module whose BTF has a VAR (the per-CPU `xt_recseq`, global linkage), for
 * typed ksyms in modules; nf_conntrack's BTF has none.
 * veth, sch_ingress (the clsact qdisc), cls_bpf: the attach tests' veth pairs and the
 * legacy TC path (a clsact qdisc plus a cls_bpf filter over rtnetlink). */
export const OPTIONAL_MODULES = ['nf_conntrack', 'x_tables', 'veth', 'sch_ingress', 'cls_bpf'];

const norm = (n) => n.replace(/-/g, '_');
const MOD_RE = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/;

/** name -> absolute path of every module file under a modules directory. */
export function indexModules(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else { const m = MOD_RE.exec(e.name); if (m && !out.has(norm(m[1]))) out.set(norm(m[1]), p); }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Built-in module names (modules.builtin: kernel/fs/9p/9p.ko lines). */
export function builtinModules(dir) {
  const f = path.join(dir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => norm(path.basename(l).replace(MOD_RE, '$1'))));
}

/** Bytes of a module file, decompressed. */
export function readModule(file) {
  if (file.endsWith('.gz')) return zlib.gunzipSync(readFileSync(file));
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return readFileSync(file);
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 256 << 20 });
  if (r.error || r.status !== 0) throw new Error(`${tool} -dc ${file} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** [key, value] pairs of an ELF64 module's .modinfo section, in order (keys such as alias
 * and softdep can repeat). */
export function modinfoEntries(bytes) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error('not a little-endian ELF64 module');
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c), shstrndx = b.readUInt16LE(0x3e);
  const sh = (i) => {
    const o = shoff + i * shentsize;
    return { name: b.readUInt32LE(o), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  const nameAt = (off) => { const s = strtab.offset + off; return b.toString('latin1', s, b.indexOf(0, s)); };
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    if (nameAt(s.name) !== '.modinfo') continue;
    return kvPairs(b.toString('latin1', s.offset, s.offset + s.size));
  }
  return [];
}

const kvPairs = (text) => text.split('\0').flatMap((kv) => {
  const eq = kv.indexOf('=');
  return eq > 0 ? [[kv.slice(0, eq), kv.slice(eq + 1)]] : [];
});

/** key=value strings of an ELF64 module's .modinfo section (the last one of repeated keys). */
export function modinfo(bytes) {
  return Object.fromEntries(modinfoEntries(bytes));
}

/** Soft dependencies of a module (`softdep=pre: a b post: c`, possibly repeated): module
 * names or aliases to load before (pre) and after (post) it. */
export function parseSoftdeps(values) {
  const out = { pre: [], post: [] };
  for (const v of values) {
    let into;
    for (const t of v.split(/\s+/).filter(Boolean)) {
      if (t === 'pre:') into = out.pre;
      else if (t === 'post:') into = out.post;
      else if (t.endsWith(':')) into = undefined; // a section we do not know
      else into?.push(t);
    }
  }
  return out;
}

/** Aliases of built-in modules (modules.builtin.modinfo: `name.alias=value` strings). */
export function builtinAliases(dir) {
  const f = path.join(dir, 'modules.builtin.modinfo');
  if (!existsSync(f)) return [];
  return kvPairs(readFileSync(f, 'latin1')).filter(([k]) => k.endsWith('.alias')).map(([, v]) => v);
}

/** modprobe's alias match: the alias string is a shell glob. */
export function aliasMatches(pattern, name) {
  if (!/[*?[]/.test(pattern)) return pattern === name;
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  try { return new RegExp(`^${re}$`).test(name); } catch { return false; }
}

/** Resolves the wanted and optional modules against a modules directory: [{ name, file,
 * bytes, depends, optional }] in load order (dependencies first), plus the built-in and
 * absent names. A module is optional (its insmod failing is only a warning) unless a
 * wanted module needs it through `depends`. Soft dependencies (`softdep=pre: crc32c`, e.g.
 * libcrc32c, whose init fails without a crc32c implementation) are loaded as optional
 * modules around theirs; a softdep naming an alias rather than a module is looked up in the
 * `alias=` of the modules whose name contains it and of the crypto modules, and skipped
 * when a built-in module provides it. */
export function resolveModules(dir, wanted = WANTED_MODULES, required = REQUIRED_MODULES, optional = OPTIONAL_MODULES) {
  const index = indexModules(dir);
  const builtin = builtinModules(dir);
  const order = [], byName = new Map(), absent = [], builtIn = [];
  let infos, bAliases;
  const info = (name) => {
    infos ??= new Map();
    if (!infos.has(name)) { const bytes = readModule(index.get(name)); infos.set(name, { bytes, entries: modinfoEntries(bytes) }); }
    return infos.get(name);
  };
  /** Module names providing an alias (modprobe loads every one). */
  const providers = (alias) => {
    bAliases ??= builtinAliases(dir);
    if (bAliases.some((a) => aliasMatches(a, alias))) return 'builtin';
    const stem = norm(alias.replace(/^crypto-/, ''));
    const out = [];
    for (const [name, file] of index) {
      if (!name.includes(stem) && !/\/crypto\//.test(file.slice(dir.length))) continue;
      if (info(name).entries.some(([k, v]) => k === 'alias' && aliasMatches(v, alias))) out.push(name);
    }
    return out.sort((a, b) => Number(b.endsWith('_generic')) - Number(a.endsWith('_generic')) || a.localeCompare(b));
  };
  /** A module first reached as optional turns out to be needed, with its dependencies. */
  const needed = (m) => {
    if (!m.optional) return;
    m.optional = false;
    for (const d of m.depends) { const x = byName.get(norm(d)); if (x) needed(x); }
  };
  const visit = (name, opt) => {
    name = norm(name);
    const had = byName.get(name);
    if (had) { if (!opt) needed(had); return; }
    if (absent.includes(name) || builtIn.includes(name)) return;
    const file = index.get(name);
    if (!file) { (builtin.has(name) ? builtIn : absent).push(name); return; }
    const m = { name, file, bytes: undefined, depends: [], optional: opt };
    byName.set(name, m); // before the dependencies: a cycle ends here
    const { bytes, entries } = info(name);
    m.bytes = bytes;
    m.depends = entries.filter(([k]) => k === 'depends').flatMap(([, v]) => v.split(',')).filter(Boolean);
    const soft = parseSoftdeps(entries.filter(([k]) => k === 'softdep').map(([, v]) => v));
    const visitSoft = (s) => {
      if (index.has(norm(s)) || builtin.has(norm(s))) return visit(s, true);
      const p = providers(s);
      if (p === 'builtin') return;
      if (!p.length) { if (!absent.includes(s)) absent.push(s); return; }
      for (const n of p) visit(n, true);
    };
    for (const s of soft.pre) visitSoft(s);
    for (const d of m.depends) visit(d, opt);
    order.push(m);
    for (const s of soft.post) visitSoft(s);
  };
  for (const w of wanted) visit(w, false);
  for (const o of optional) visit(o, true);
  // Without a modules tree (or modules.builtin) a missing required module is assumed built in.
  if (index.size > 0) {
    const missing = required.filter((r) => absent.includes(r));
    if (missing.length) throw new Error(`modules ${missing.join(', ')} are neither in ${dir} nor listed in its modules.builtin: the guest could not mount the host over virtio-9p`);
  }
  return { modules: order, builtin: builtIn, absent };
}

// ---- cpio (newc) ----------------------------------------------------------------------

/** newc archive of entries { name, mode, data?, rdev? [major, minor], target? (symlink) }. */
export function cpio(entries) {
  const parts = [];
  let ino = 1, len = 0;
  const push = (buf) => { parts.push(buf); len += buf.length; };
  const pad = () => { if (len % 4) push(Buffer.alloc(4 - (len % 4))); };
  const hex = (n) => n.toString(16).padStart(8, '0');
  const entry = (e) => {
    const data = e.target !== undefined ? Buffer.from(e.target) : e.data ? Buffer.from(e.data) : Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const [maj, min] = e.rdev ?? [0, 0];
    const isDir = (e.mode & 0o170000) === 0o040000;
    push(Buffer.from('070701' + [ino++, e.mode, 0, 0, isDir ? 2 : 1, 0, data.length, 0, 0, maj, min, name.length, 0].map(hex).join('')));
    push(name); pad();
    push(data); pad();
  };
  for (const e of entries) entry(e);
  entry({ name: 'TRAILER!!!', mode: 0 });
  // pad to 512 so that archives can be concatenated
  if (len % 512) push(Buffer.alloc(512 - (len % 512)));
  return Buffer.concat(parts);
}

/** Entries of a newc archive (for tests and `--inspect`). */
export function parseCpio(buf) {
  const out = [];
  let o = 0;
  const al = (n) => (n + 3) & ~3;
  while (o + 110 <= buf.length) {
    if (buf.toString('latin1', o, o + 6) !== '070701') { o++; continue; } // zero padding between archives
    const f = (i) => parseInt(buf.toString('latin1', o + 6 + i * 8, o + 14 + i * 8), 16);
    const mode = f(1), size = f(6), namesize = f(11);
    const name = buf.toString('latin1', o + 110, o + 110 + namesize - 1);
    const dataOff = al(o + 110 + namesize);
    if (name === 'TRAILER!!!') { o = dataOff; continue; }
    out.push({ name, mode, rdev: [f(9), f(10)], data: buf.subarray(dataOff, dataOff + size) });
    o = al(dataOff + size);
  }
  return out;
}

// ---- /init ----------------------------------------------------------------------------

/** Shell lines loading the modules in order: a run of required ones with a loop that fails
 * the boot, a run of optional ones with a loop that prints a warning marker. */
export function moduleLoadScript(modules) {
  const runs = [];
  for (const m of modules.map((x) => (typeof x === 'string' ? { name: x, optional: false } : x))) {
    const last = runs[runs.length - 1];
    if (last && last.optional === !!m.optional) last.names.push(m.name);
    else runs.push({ optional: !!m.optional, names: [m.name] });
  }
  if (!runs.length) runs.push({ optional: false, names: [] });
  return runs.map((r) => (r.optional
    ? `for m in ${r.names.join(' ')}; do
  out=$(insmod /modules/$m.ko 2>&1) || warn "optional module $m did not load (\${out:-insmod failed}); continuing without it"
done
`
    : `for m in ${r.names.join(' ')}; do
  insmod /modules/$m.ko || fail "insmod $m failed"
done
`)).join('');
}

/** The guest's /init (busybox sh). Reads /tsbpf/run.env (per-run archive): NONCE, PROJECT,
 * VERBOSE; runs /tsbpf/cmd.sh chrooted into the host root. Markers (with the nonce, so the
 * command's own output cannot fake them): TSBPF_VM_RUN, TSBPF_VM_EXIT=<n>, TSBPF_VM_ERROR=<msg>,
 * TSBPF_VM_WARN=<msg> (an optional module did not load). `modules`: names (required) or
 * { name, optional }, in load order. */
export function initScript(modules) {
  return `#!/bin/busybox sh
# tsbpf VM init: generated by scripts/vm/initramfs.mjs
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
. /tsbpf/run.env
[ "$VERBOSE" = 1 ] || echo 1 > /proc/sys/kernel/printk
fail() {
  echo "TSBPF_VM_ERROR:$NONCE=$*"
  sync
  echo o > /proc/sysrq-trigger
  poweroff -f
}
warn() {
  echo "TSBPF_VM_WARN:$NONCE=$(printf '%s' "$*" | tr '\\n' ' ')"
}
${moduleLoadScript(modules)}R=/newroot
mkdir -p $R
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $opts,ro,cache=loose hostroot $R || fail "mount of the host root (9p tag hostroot) failed"
for d in tmp run root var/tmp; do
  mount -t tmpfs -o mode=$([ $d = root ] && echo 0700 || echo 1777) tmpfs $R/$d 2>/dev/null
done
mount -t proc proc $R/proc || fail "mount proc failed"
mount -t sysfs sys $R/sys || fail "mount sysfs failed"
mount -t devtmpfs dev $R/dev || fail "mount devtmpfs failed"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf || fail "mount bpffs failed"
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
if [ -f /tsbpf/config ]; then
  # the kernel's config where libbpf, bpftool and tsbpf look for it: /boot/config-V, and
  # /usr/lib/modules/V/config (Debian 14) when the host has a /usr/lib/modules to cover
  mount -t tmpfs tmpfs $R/boot && cp /tsbpf/config $R/boot/config-$(uname -r)
  if [ -d $R/usr/lib/modules ]; then
    mount -t tmpfs tmpfs $R/usr/lib/modules && mkdir -p $R/usr/lib/modules/$(uname -r) && cp /tsbpf/config $R/usr/lib/modules/$(uname -r)/config
  fi
fi
mkdir -p "$R$PROJECT" 2>/dev/null
mount -t 9p -o $opts,cache=loose project "$R$PROJECT" || fail "mount of the project $PROJECT (9p tag project) failed"
mkdir -p $R/run/tsbpf
cp /tsbpf/cmd.sh $R/run/tsbpf/cmd.sh
hostname tsbpf-vm
stty -onlcr 2>/dev/null
echo "TSBPF_VM_RUN:$NONCE"
env -i /bin/chroot $R /bin/sh /run/tsbpf/cmd.sh </dev/null
rc=$?
sync
echo "TSBPF_VM_EXIT:$NONCE=$rc"
sleep 1
echo o > /proc/sysrq-trigger
sleep 5
poweroff -f
`;
}

const DIR = (mode) => ({ mode: 0o040755 | (mode ?? 0) });

/** Base archive: dirs, /dev/console, busybox, modules, /init, the kernel config if known. */
export function buildBase({ busybox, modules, config }) {
  const entries = [
    ...['bin', 'dev', 'proc', 'sys', 'modules', 'newroot', 'tsbpf', 'tmp'].map((n) => ({ name: n, ...DIR() })),
    { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
    { name: 'dev/null', mode: 0o020666, rdev: [1, 3] },
    { name: 'bin/busybox', mode: 0o100755, data: readFileSync(busybox) },
    { name: 'bin/sh', mode: 0o120777, target: 'busybox' },
    ...modules.map((m) => ({ name: `modules/${m.name}.ko`, mode: 0o100644, data: m.bytes })),
    { name: 'init', mode: 0o100755, data: initScript(modules.map((m) => ({ name: m.name, optional: !!m.optional }))) },
    ...(config ? [{ name: 'tsbpf/config', mode: 0o100644, data: readFileSync(config) }] : []),
  ];
  return cpio(entries);
}

/** Per-run archive: /tsbpf/run.env and /tsbpf/cmd.sh. */
export function buildRun({ nonce, project, verbose, cmdScript }) {
  const env = `NONCE=${shq(nonce)}\nPROJECT=${shq(project)}\nVERBOSE=${verbose ? 1 : 0}\n`;
  return cpio([
    { name: 'tsbpf', ...DIR() },
    { name: 'tsbpf/run.env', mode: 0o100644, data: env },
    { name: 'tsbpf/cmd.sh', mode: 0o100755, data: cmdScript },
  ]);
}

/** POSIX-shell single quoting. */
export function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** The script run in the chroot: environment, cd, exec the command. */
export function commandScript({ argv, project, env }) {
  const lines = ['# tsbpf VM command (scripts/vm/initramfs.mjs)'];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) lines.push(`export ${k}=${shq(v)}`);
  lines.push('export TSBPF_VM="$(uname -r)"');
  lines.push(`cd ${shq(project)} || exit 125`);
  lines.push(`exec ${argv.map(shq).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Hash of everything that decides the base archive's contents apart from the modules. */
export function scriptHash(busybox) {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  const st = statSync(busybox);
  h.update(`${busybox}:${st.size}:${st.mtimeMs}`);
  return h.digest('hex').slice(0, 12);
}

/** Builds (or reuses) the cached base archive for a kernel release + modules dir. The key
 * covers the release, the modules directory, the config, the module lists, busybox and this
 * script. */
export function baseInitramfs({ cacheDir, release, modulesDir, busybox, config, log, wanted = WANTED_MODULES, required = REQUIRED_MODULES, optional = OPTIONAL_MODULES }) {
  const lists = JSON.stringify({ wanted, required, optional });
  const key = createHash('sha256').update(`${release}\0${path.resolve(modulesDir ?? '')}\0${config ?? ''}\0${lists}\0${scriptHash(busybox)}`).digest('hex').slice(0, 16);
  const file = path.join(cacheDir, `${release}-${key}.cpio`);
  if (existsSync(file)) return { file, cached: true };
  const r = modulesDir ? resolveModules(modulesDir, wanted, required, optional) : { modules: [], builtin: [], absent: [] };
  const req = r.modules.filter((m) => !m.optional).map((m) => m.name), opt = r.modules.filter((m) => m.optional).map((m) => m.name);
  log?.(`initramfs: modules ${req.join(' ') || '(none)'}${opt.length ? `; optional: ${opt.join(' ')}` : ''}${r.builtin.length ? `; built in: ${r.builtin.join(' ')}` : ''}`);
  mkdirSync(cacheDir, { recursive: true });
  // drop archives of this release built by older versions of this script
  for (const f of readdirSync(cacheDir)) if (f.startsWith(`${release}-`) && f.endsWith('.cpio')) rmSync(path.join(cacheDir, f), { force: true });
  writeFileSync(`${file}.tmp`, buildBase({ busybox, modules: r.modules, config }));
  renameSync(`${file}.tmp`, file);
  return { file, cached: false, modules: r.modules.map((m) => m.name), optional: opt };
}
