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
    if (this.epoch !== kernelEpoch()) { this.map.clear(); this.epoch = kernelEpoch(); }
    return this.map.get(key);
  }
  /** The cached answer for `key`, or `make()`'s, kept unless it throws. */
  get(key: K, make: () => V): V {
    if (this.epoch !== kernelEpoch()) { this.map.clear(); this.epoch = kernelEpoch(); }
    if (this.map.has(key)) return this.map.get(key)!;
    const v = make();
    this.map.set(key, v);
    return v;
  }
  /** Forget every answer (tests that change what the kernel has). */
  clear(): void { this.map.clear(); }
}
