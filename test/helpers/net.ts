// Network namespaces and veth pairs for the attach tests: names unique to this process
// (other helpers run tests on the same kernel at the same time), traffic only inside them,
// everything removed in close() (call it in a finally).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let counter = 0;

/** Runs a command; throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: 60_000 });
  if ((r.status !== 0 || r.error) && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
  return r.stdout;
}

/** A name unique to this process and call: `tsbpf<pid>x<n>` plus a suffix (at most 15 chars for interfaces). */
export function uniqueName(suffix = ''): string {
  return `ts${process.pid.toString(36)}${(counter++).toString(36)}${suffix}`;
}

/**
 * Two network namespaces joined by a veth pair: `a` (10.x.y.1 on vethA) sends, `b`
 * (10.x.y.2 on vethB) receives. close() deletes both namespaces, which deletes the pair.
 */
export class VethPair {
  readonly nsA: string;
  readonly nsB: string;
  readonly vethA: string;
  readonly vethB: string;
  readonly ipA: string;
  readonly ipB: string;

  constructor() {
    const base = uniqueName();
    this.nsA = `${base}a`;
    this.nsB = `${base}b`;
    this.vethA = `${base}va`.slice(0, 15);
    this.vethB = `${base}vb`.slice(0, 15);
    const subnet = `10.${(process.pid >> 8) & 255}.${(process.pid + counter) & 255}`;
    this.ipA = `${subnet}.1`;
    this.ipB = `${subnet}.2`;
    try {
      sh('ip', ['netns', 'add', this.nsA]);
      sh('ip', ['netns', 'add', this.nsB]);
      sh('ip', ['-n', this.nsA, 'link', 'add', this.vethA, 'type', 'veth', 'peer', 'name', this.vethB, 'netns', this.nsB]);
      sh('ip', ['-n', this.nsA, 'addr', 'add', `${this.ipA}/24`, 'dev', this.vethA]);
      sh('ip', ['-n', this.nsB, 'addr', 'add', `${this.ipB}/24`, 'dev', this.vethB]);
      for (const [ns, dev] of [[this.nsA, this.vethA], [this.nsB, this.vethB]] as const) {
        sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** /run/netns/<ns>: what attach({ netns }) and withNetns take. */
  path(ns: string): string { return `/run/netns/${ns}`; }

  /**
   * Sends `count` UDP datagrams from namespace `from` to `to`:`port` (a child node process
   * under `ip netns exec`) and waits for it. Returns after the last one was sent.
   */
  sendUdp(from: string, to: string, port: number, count: number): void {
    const js = `const s=require('dgram').createSocket('udp4');let n=0;const go=()=>{if(n++>=${count}){s.close();return;}s.send(Buffer.from('tsbpf'),${port},'${to}',(e)=>{if(e){console.error(e.message);process.exit(1)}go();});};go();`;
    sh('ip', ['netns', 'exec', from, process.execPath, '-e', js]);
  }

  /** `tc` in namespace `ns`. */
  tc(ns: string, args: string[]): string { return sh('ip', ['netns', 'exec', ns, 'tc', ...args]); }

  close(): void {
    for (const ns of [this.nsA, this.nsB]) if (existsSync(`/run/netns/${ns}`)) sh('ip', ['netns', 'del', ns], { allowFail: true });
  }
}

/** A bare network namespace (loopback only); close() deletes it. */
export class TestNetns {
  readonly name = uniqueName('n');
  constructor() { sh('ip', ['netns', 'add', this.name]); sh('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']); }
  get path(): string { return `/run/netns/${this.name}`; }
  close(): void { if (existsSync(this.path)) sh('ip', ['netns', 'del', this.name], { allowFail: true }); }
}

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid setups). */
export function cgroup2Root(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2' && dir) return dir;
  }
  throw new Error('no cgroup2 mount in /proc/mounts');
}

/** A new cgroup v2 directory; runIn() starts a command inside it; close() removes it. */
export class TestCgroup {
  readonly path = `${cgroup2Root()}/${uniqueName('cg')}`;
  constructor() { sh('mkdir', [this.path]); }

  /** Runs `argv` as a process of this cgroup (it moves itself in before exec) and waits for it. */
  runIn(argv: string[]): string {
    return sh('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.path, ...argv]);
  }

  close(): void { if (existsSync(this.path)) sh('rmdir', [this.path], { allowFail: true }); }
}
