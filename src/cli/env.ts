/** Errors about the environment (privileges, bpffs): exit 2 with one line. Cheap to import. */
import { existsSync, statfsSync } from 'node:fs';
import path from 'node:path';

export class EnvironmentError extends Error {}

export const PIN_ROOT = '/sys/fs/bpf';
const BPF_FS_MAGIC = 0xcafe4a11;

export const PRIVILEGE_FIX = 'run as root, or grant CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN ' +
  '(e.g. sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep "$(readlink -f "$(command -v node)")", ' +
  'or run it under sudo capsh --caps="cap_bpf,cap_perfmon,cap_net_admin+eip cap_setpcap,cap_setuid,cap_setgid+ep" ' +
  '--keep=1 --user="$USER" --addamb=cap_bpf,cap_perfmon,cap_net_admin -- -c "node bin/load.js ...")';

function onBpffs(dir: string): boolean {
  let d = path.resolve(dir);
  while (!existsSync(d)) d = path.dirname(d);
  return (Number(statfsSync(d).type) >>> 0) === BPF_FS_MAGIC;
}

/** Pins only work on bpffs; say so before anything is loaded. */
export function checkPinDir(dir: string, opt: string): void {
  if (!onBpffs(dir)) throw new EnvironmentError(`${opt} ${dir}: not on a bpffs mount (pins live on bpffs: use a directory under ${PIN_ROOT}, or mount -t bpf bpf DIR)`);
}
