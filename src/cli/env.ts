/** Errors about the environment (privileges, bpffs): exit 2 with one line. Cheap to import. */
import { existsSync } from 'node:fs';
import { BPFFS_ROOT, ensureBpffs, isMountPoint, MountError } from '../sys/mount.js';

export class EnvironmentError extends Error {}

export const PIN_ROOT = BPFFS_ROOT;

/**
 * How to get the privileges, for the one line an unprivileged run prints. Not `setcap` on
 * the node binary: file capabilities on node give CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN to
 * every Node script any user runs on the host.
 */
export const PRIVILEGE_FIX = 'run it as root (sudo node bin/load.js ...), or give CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN to this one command only: ' +
  'sudo capsh --caps="cap_bpf,cap_perfmon,cap_net_admin+eip cap_setpcap,cap_setuid,cap_setgid+ep" --keep=1 --user="$USER" ' +
  '--addamb=cap_bpf,cap_perfmon,cap_net_admin -- -c "node bin/load.js ..." ' +
  '(not setcap on the node binary: that grants them to every Node script on the host)';

/**
 * Pins only work on bpffs: under /sys/fs/bpf it is mounted when missing (one line on
 * stderr, as bpftool does); elsewhere a directory not on bpffs is refused before anything
 * is loaded.
 */
export function checkPinDir(dir: string, opt: string): void {
  try {
    ensureBpffs(dir, { notice: (line) => { process.stderr.write(`load: ${line}\n`); } });
  } catch (e) {
    if (!(e instanceof MountError)) throw e;
    throw new EnvironmentError(e.reason === 'not-mountable'
      ? `${opt} ${dir}: not on a bpffs mount (pins live on bpffs: use a directory under ${PIN_ROOT}, or mount -t bpf bpf DIR)`
      : `${opt} ${dir}: ${e.detail}`);
  }
  // --pin leaves a manifest and --unpin removes what it lists, then the directory: never a mount's root
  if (existsSync(dir) && isMountPoint(dir)) {
    throw new EnvironmentError(`${opt} ${dir}: that is the root of a bpffs mount, not a directory of pins: ${opt === '--pin' ? `pin into a directory under it (${dir.replace(/\/+$/, '')}/<name>)` : 'give the directory that --pin was given'}`);
  }
}
