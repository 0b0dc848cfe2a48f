#!/usr/bin/env node
// scripts/vm-run --kernel 5.10|6.1|6.12|7|sid [--timeout S] [--mem M] [--cpus N] [--accel kvm|tcg]
//                [--dir DIR] [--quiet] [--verbose] -- <command...>
// scripts/vm-run --kernel-image PATH [--modules DIR] ... -- <command...>
// Boots a Debian kernel (or your own) in qemu with the host root mounted read-only and
// the project directory read-write, runs the command there as root and exits with its
// exit code. See docs/vm.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bzImageVersion, cacheRoot, fetchPackage, KERNEL_LINES, LINE_NAMES, privateApt, resolvePackage } from './kernels.mjs';
import { baseInitramfs, buildRun, commandScript } from './initramfs.mjs';
import { ConsoleParser, exitStatus } from './guest.mjs';
import { ensureTools, findBusybox, probeKvm } from './host.mjs';

const LINES = LINE_NAMES.join('|');
const USAGE = `usage: tsbpf-vm (--kernel ${LINES} | --kernel-image PATH [--modules DIR])
                     [--timeout S] [--mem MiB] [--cpus N] [--accel kvm|tcg] [--dir DIR]
                     [--quiet] [--verbose] -- <command...>`;

/** Parses argv (after the script name). Throws with a usage message on errors. */
export function parseArgs(argv) {
  const o = { timeout: 900, mem: 2048, cpus: 2, accel: process.env.TSBPF_VM_ACCEL || 'auto', dir: process.cwd(), quiet: false, verbose: false, command: [] };
  const sep = argv.indexOf('--');
  const opts = sep >= 0 ? argv.slice(0, sep) : argv;
  o.command = sep >= 0 ? argv.slice(sep + 1) : [];
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    const val = () => {
      const v = opts[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const num = () => { const v = Number(val()); if (!Number.isFinite(v) || v <= 0) throw new Error(`${a}: not a positive number\n${USAGE}`); return v; };
    switch (a) {
      case '--kernel': o.kernel = val(); break;
      case '--kernel-image': o.kernelImage = val(); break;
      case '--modules': o.modules = val(); break;
      case '--timeout': o.timeout = num(); break;
      case '--mem': o.mem = num(); break;
      case '--cpus': o.cpus = num(); break;
      case '--accel': o.accel = val(); break;
      case '--dir': o.dir = val(); break;
      case '--quiet': case '-q': o.quiet = true; break;
      case '--verbose': case '-v': o.verbose = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.help) return o;
  if (!o.kernel === !o.kernelImage) throw new Error(`give one of --kernel LINE or --kernel-image PATH\n${USAGE}`);
  if (o.kernel && !Object.hasOwn(KERNEL_LINES, o.kernel)) throw new Error(`--kernel ${o.kernel}: expected one of ${LINE_NAMES.join(', ')} (5.10: Debian 11, 6.1 and 6.12: Debian 12, 7 and sid: the newest in Debian sid), or --kernel-image PATH\n${USAGE}`);
  if (o.modules && !o.kernelImage) throw new Error(`--modules goes with --kernel-image\n${USAGE}`);
  if (!['auto', 'kvm', 'tcg'].includes(o.accel)) throw new Error(`--accel ${o.accel}: expected kvm, tcg or auto`);
  if (!o.command.length) throw new Error(`no command given after --\n${USAGE}`);
  return o;
}

const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;

export async function main(argv) {
  let o;
  try { o = parseArgs(argv); } catch (e) { process.stderr.write(`vm: ${e.message}\n`); return 2; }
  if (o.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  const log = (msg) => { if (!o.quiet) process.stderr.write(`vm: ${msg}\n`); };
  const tStart = Date.now();
  const times = {};
  const cache = cacheRoot();

  // ---- kernel ----
  let kernel, modulesDir, release, config;
  try {
    ensureTools({ debian: !!o.kernel, log });
    if (o.kernel) {
      let t = Date.now();
      const line = KERNEL_LINES[o.kernel];
      log(`resolving the newest ${line.release} kernel of line ${o.kernel}…`);
      let pkg = resolvePackage(o.kernel, log);
      times.resolve = Date.now() - t;
      log(`resolved ${pkg.packages.join(' ')}${pkg.version ? ` ${pkg.version}` : ''} (${secs(times.resolve)})`);
      t = Date.now();
      let f;
      try {
        f = fetchPackage(pkg.name, log, pkg);
      } catch (e) {
        // lists a few hours old can name a package the mirror no longer has: refresh, retry once
        log(`${e.message.split('\n')[0]}; refreshing the ${pkg.dist} lists and retrying`);
        privateApt(pkg.dist).update();
        pkg = resolvePackage(o.kernel, log);
        f = fetchPackage(pkg.name, log, pkg);
      }
      times.fetch = Date.now() - t;
      log(f.downloaded ? `downloaded and extracted into ${f.dir} (${secs(times.fetch)})` : `cached in ${f.dir}`);
      ({ kernel, release, config } = f);
      modulesDir = f.modules;
    } else {
      kernel = path.resolve(o.kernelImage);
      if (!existsSync(kernel)) throw new Error(`--kernel-image ${kernel}: no such file`);
      release = bzImageVersion(kernel)?.split(' ')[0];
      if (!release) throw new Error(`--kernel-image ${kernel}: not a bzImage (no HdrS setup header)`);
      modulesDir = o.modules ? path.resolve(o.modules) : existsSync(`/lib/modules/${release}`) ? `/lib/modules/${release}` : undefined;
      config = [path.join(path.dirname(kernel), `config-${release}`), modulesDir && path.join(modulesDir, 'config'), `/boot/config-${release}`].find((f) => f && existsSync(f));
      if (!modulesDir) log(`no modules directory for ${release} (--modules DIR): assuming virtio-pci and 9p are built in`);
    }
    let t = Date.now();
    const base = baseInitramfs({ cacheDir: path.join(cache, 'initramfs'), release, modulesDir, busybox: findBusybox(), config: config && existsSync(config) ? config : undefined, log });
    times.initramfs = Date.now() - t;
    log(base.cached ? `initramfs cached (${path.basename(base.file)})` : `initramfs built (${secs(times.initramfs)})`);
    o.base = base.file;
  } catch (e) {
    process.stderr.write(`vm: ${e.message}\n`);
    return 125;
  }

  // ---- accelerator ----
  let accel = o.accel;
  if (accel === 'auto') {
    const t = Date.now();
    const p = await probeKvm({ kernel, cacheDir: cache });
    times.kvmProbe = Date.now() - t;
    accel = p.kvm ? 'kvm' : 'tcg';
    log(`kvm probe: ${p.reason}${p.cached ? ' (cached for this host boot)' : ` (${secs(p.ms)})`} -> ${accel}`);
  }

  // ---- per-run archive ----
  const project = realpathSync(path.resolve(o.dir));
  const nonce = randomBytes(8).toString('hex');
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin', HOME: '/root', CI: process.env.CI, TERM: 'dumb', LANG: process.env.LANG };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tsbpf-vm-'));
  const initrd = path.join(tmp, 'initrd.cpio');
  writeFileSync(initrd, Buffer.concat([readFileSync(o.base), buildRun({ nonce, project, verbose: o.verbose, cmdScript: commandScript({ argv: o.command, project, env }) })]));

  const args = [
    '-accel', accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', String(o.mem), '-smp', String(o.cpus), '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd,
    '-append', `console=ttyS0 panic=-1 ${o.verbose ? '' : 'quiet loglevel=3 '}oops=panic`,
    '-serial', 'stdio',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${project.replace(/,/g, ',,')},mount_tag=project,security_model=none,multidevs=remap`,
  ];
  log(`booting ${release} (${accel}, ${o.cpus} vCPUs, ${o.mem} MiB, timeout ${o.timeout}s)…`);
  const tBoot = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let alive = true;
  const killQemu = () => { if (alive) { try { process.kill(-qemu.pid, 'SIGKILL'); } catch { /* gone */ } } };
  const cleanup = () => { killQemu(); rmSync(tmp, { recursive: true, force: true }); };
  process.on('exit', cleanup);
  const onSignal = (sig, code) => () => {
    process.stderr.write(`\nvm: ${sig}: stopping the VM\n`);
    cleanup();
    process.exit(code);
  };
  process.on('SIGINT', onSignal('SIGINT', 130));
  process.on('SIGTERM', onSignal('SIGTERM', 143));
  process.on('SIGHUP', onSignal('SIGHUP', 129));

  let stdoutOpen = true;
  process.stdout.on('error', () => { stdoutOpen = false; }); // e.g. `| head`: keep running, stop writing
  const write = (s) => { if (s && stdoutOpen) process.stdout.write(s); };
  const parser = new ConsoleParser(nonce, { keepAfterExit: o.verbose });
  const state = { exitCode: undefined, error: undefined, timedOut: false };
  let tRun, tExit, qemuErr = '';
  qemu.stdout.setEncoding('utf8');
  qemu.stdout.on('data', (chunk) => {
    const { out, events } = parser.feed(chunk);
    write(out);
    for (const ev of events) {
      if (ev.type === 'run') { tRun = Date.now(); times.boot = tRun - tBoot; log(`running (booted in ${secs(times.boot)}): ${o.command.join(' ')}`); }
      else if (ev.type === 'exit') { tExit = Date.now(); state.exitCode = ev.code; }
      else if (ev.type === 'warn') process.stderr.write(`vm: warning: ${ev.message}\n`); // even with --quiet
      else { state.error = ev.message; }
    }
  });
  qemu.stderr.setEncoding('utf8');
  qemu.stderr.on('data', (d) => { qemuErr += d; });

  const timer = setTimeout(() => {
    state.timedOut = true;
    process.stderr.write(`\nvm: timeout: the VM ran longer than ${o.timeout}s (--timeout); killed qemu\n`);
    killQemu();
  }, o.timeout * 1000);
  // Once the command has reported, give the guest a few seconds to power off.
  const grace = setInterval(() => { if (tExit && Date.now() - tExit > 10_000) killQemu(); }, 1000);

  const code = await new Promise((resolve) => qemu.on('exit', (c, sig) => resolve(sig ?? c)));
  alive = false;
  clearTimeout(timer);
  clearInterval(grace);
  write(parser.flush());
  const tEnd = Date.now();
  if (tRun && tExit) times.run = tExit - tRun;
  if (tExit) times.shutdown = tEnd - tExit;
  times.total = tEnd - tStart;

  const status = exitStatus(state);
  if (state.error !== undefined) process.stderr.write(`vm: guest setup failed: ${state.error}\n`);
  else if (!state.timedOut && state.exitCode === undefined) {
    process.stderr.write(`vm: the guest stopped without reporting an exit code (qemu exit ${code}; kernel panic or init failure; rerun with --verbose for kernel messages)\n`);
    if (qemuErr.trim()) process.stderr.write(`vm: qemu: ${qemuErr.trim()}\n`);
  }
  const parts = ['resolve', 'fetch', 'initramfs', 'kvmProbe', 'boot', 'run', 'shutdown', 'total'].filter((k) => times[k] !== undefined).map((k) => `${k} ${secs(times[k])}`);
  log(`exit ${status}${state.timedOut ? ' (timeout)' : ''}; ${parts.join(', ')}`);
  if (process.env.TSBPF_VM_TIMES) { try { writeFileSync(process.env.TSBPF_VM_TIMES, JSON.stringify({ release, accel, status, times })); } catch { /* informative */ } }
  return status;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => { process.stderr.write(`vm: ${e.stack ?? e}\n`); process.exit(125); });
}
