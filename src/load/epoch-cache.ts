/** Probe answers cached per process, started over when another kernel (a test double) answers. */
import { kernelEpoch } from '../sys/index.js';

export class EpochCache<K, V> {
  private epoch = kernelEpoch();
  private readonly map = new Map<K, V>();
  /**
   * The cached answer for `key`, or undefined when there is none yet: for callers that ask
   * often (every type of every load) and would otherwise make a `make` closure per call.
   */
  peek(key: K): V | undefined {
    return this.answers().get(key);
  }
  /** The cached answer for `key`, or `make()`'s, kept unless it throws. */
  get(key: K, make: () => V): V {
    const map = this.answers();
    if (map.has(key)) return map.get(key)!;
    const v = make();
    map.set(key, v);
    return v;
  }
  /** The answers of the kernel that answers now (emptied when another one does). */
  private answers(): Map<K, V> {
    if (this.epoch !== kernelEpoch()) { this.map.clear(); this.epoch = kernelEpoch(); }
    return this.map;
  }
  /** Forget every answer (tests that change what the kernel has). */
  clear(): void { this.map.clear(); }
}
