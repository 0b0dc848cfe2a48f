// Host side: the tools the runner needs (installed with apt when missing), the KVM probe.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEBIAN_KEYRING } from './kernels.mjs';

const which = (cmd) => {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(d || '.', cmd);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
};

/** True for an ELF executable with no PT_INTERP (statically linked). */
export function isStaticElf(file) {
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false;
    const phoff = Number(h.readBigUInt64LE(0x20)), phentsize = h.readUInt16LE(0x36), phnum = h.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally { closeSync(fd); }
}

export function findBusybox() {
  for (const p of [process.env.TSBPF_BUSYBOX, '/bin/busybox', '/usr/bin/busybox', which('busybox')]) {
    if (p && existsSync(p) && isStaticElf(p)) return p;
  }
  return undefined;
}

/** Makes sure the host tools exist; installs the missing ones with apt (as root).
 * needs: { debian: true } when kernels come from Debian packages. */
export function ensureTools({ debian, log }) {
  const missing = [];
  if (!which('qemu-system-x86_64')) missing.push(['qemu-system-x86_64', 'qemu-system-x86']);
  if (!findBusybox()) missing.push(['a static busybox', 'busybox-static']);
  if (!which('xz')) missing.push(['xz', 'xz-utils']);
  if (debian && !which('dpkg-deb')) missing.push(['dpkg-deb', 'dpkg']);
  // the private sources lists (scripts/vm/kernels.mjs) check Debian's archive signatures
  if (debian && !existsSync(DEBIAN_KEYRING)) missing.push([DEBIAN_KEYRING, 'debian-archive-keyring']);
  if (!missing.length) return;
  const pkgs = missing.map((m) => m[1]);
  const what = missing.map((m) => m[0]).join(', ');
  if (!which('apt-get')) {
    throw new Error(`missing ${what}, and apt-get is not available to install it: install ${pkgs.join(' ')} (or your distribution's equivalents) and retry; a static busybox can also be given with TSBPF_BUSYBOX=/path`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${what}: run as root (the runner then installs it) or: sudo apt-get install ${pkgs.join(' ')}`);
  }
  log?.(`installing ${pkgs.join(' ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed (exit ${r.status})`);
  if (!findBusybox()) throw new Error('busybox-static is installed but no static busybox was found at /bin/busybox');
}

function bootId() {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return 'unknown'; }
}

/** Whether KVM boots a kernel here: /dev/kvm usable and a kernel without root reaches its
 * panic (and qemu exits through -no-reboot) within `timeoutMs`. On some hosts /dev/kvm
 * exists but KVM_RUN never returns: then the probe is killed and TCG is used. The result is
 * cached per host boot. Returns { kvm, reason, ms, cached }. */
export async function probeKvm({ kernel, cacheDir, timeoutMs = 8000 }) {
  try { accessSync('/dev/kvm', constants.R_OK | constants.W_OK); } catch { return { kvm: false, reason: '/dev/kvm not usable', ms: 0, cached: false }; }
  const file = path.join(cacheDir, 'kvm-probe.json');
  const id = bootId();
  try {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    if (c.bootId === id) return { ...c.result, cached: true };
  } catch { /* no cache */ }
  const t0 = Date.now();
  const result = await new Promise((resolve) => {
    const p = spawn('qemu-system-x86_64', [
      '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config',
      '-display', 'none', '-no-reboot', '-serial', 'none', '-kernel', kernel,
      '-append', 'panic=-1 loglevel=0 root=/dev/nonexistent',
    ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => {
      try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
      resolve({ kvm: false, reason: `a KVM guest did not finish booting in ${timeoutMs / 1000}s (KVM hangs here)` });
    }, timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); resolve({ kvm: false, reason: e.message }); });
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { kvm: true, reason: 'KVM works' } : { kvm: false, reason: `qemu -accel kvm failed: ${err.trim().split('\n').pop()}` });
    });
  });
  result.ms = Date.now() - t0;
  try { mkdirSync(cacheDir, { recursive: true }); writeFileSync(file, JSON.stringify({ bootId: id, result })); } catch { /* cache is best effort */ }
  return { ...result, cached: false };
}
