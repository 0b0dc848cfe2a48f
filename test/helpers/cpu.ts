// Runs a piece of a test on one CPU: BPF_PROG_TEST_RUN runs the program on the CPU of the
// calling thread, and with `repeat` it may migrate between runs (the kernel re-enables
// migration when it yields), so per-CPU effects (a perf buffer's records and its lost
// count, which the kernel reports with the next record written to the same CPU's buffer)
// land on one known buffer only when the thread is pinned. sched_setaffinity(0, ...) pins
// the calling thread: node's main thread, where bpf(2) runs synchronously.
import { addressOf, lastErrno, libcFunction } from '../../src/sys/index.js';

/** sizeof(cpu_set_t) in glibc: 1024 CPUs. */
const CPU_SET_BYTES = 128;
type AffinityFn = (pid: number, size: number, mask: bigint) => number;
const getAffinity = () => libcFunction<AffinityFn>('int sched_getaffinity(int pid, size_t cpusetsize, uint64_t mask)');
const setAffinity = () => libcFunction<AffinityFn>('int sched_setaffinity(int pid, size_t cpusetsize, uint64_t mask)');
const getCpu = () => libcFunction<() => number>('int sched_getcpu(void)');

function check(r: number, what: string): void {
  if (r < 0) throw new Error(`${what} failed: errno ${lastErrno()}`);
}

/** Runs `fn(cpu)` with this thread pinned to the CPU it is on now; the affinity it had is restored after. */
export function onOneCpu<T>(fn: (cpu: number) => T): T {
  const saved = new Uint8Array(CPU_SET_BYTES);
  check(getAffinity()(0, CPU_SET_BYTES, addressOf(saved)), 'sched_getaffinity');
  const cpu = getCpu()();
  check(cpu, 'sched_getcpu');
  const one = new Uint8Array(CPU_SET_BYTES);
  one[cpu >> 3] = 1 << (cpu & 7);
  check(setAffinity()(0, CPU_SET_BYTES, addressOf(one)), 'sched_setaffinity');
  try {
    return fn(cpu);
  } finally {
    check(setAffinity()(0, CPU_SET_BYTES, addressOf(saved)), 'sched_setaffinity (restore)');
  }
}
