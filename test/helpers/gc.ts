// Tests of what the garbage collector frees (Fd's safety net, mappings that live as long as
// their bytes): a gc() without --expose-gc on the command line.
import v8 from 'node:v8';
import vm from 'node:vm';

/** Collects garbage (and lets finalizers run) until `until()`, at most `rounds` times. */
export async function collect(until: () => boolean, rounds = 50): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < rounds && !until(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}
