/**
 * Guards for recursive walks over BTF types. Types in a file can point back at themselves
 * (one flipped byte makes a typedef inside a struct name that struct), and a walk that
 * descends into members can then loop, or branch at every level and take ~k^depth steps.
 * Every recursive walk over types enters a type before descending into it and leaves it
 * after: a type entered again while it is still open is a cycle (a BtfError naming the
 * type ids), and a walk that takes more steps than its budget stops with a BtfError too.
 */
import { BtfError } from '../errors.js';

/** Steps a walk may take by default: far beyond real types, a fraction of a second. */
export const WALK_BUDGET = 100_000;

export class TypeWalk<K extends number | string = number> {
  readonly #open = new Map<K, number>();
  readonly #path: K[] = [];
  #steps = 0;

  /**
   * `what` names the walk in errors ("alignment of .kconfig extern 'x'"); `typeId` gives
   * the type id a key stands for (keys that are not ids: pairs of ids in CO-RE).
   */
  constructor(readonly what: string, readonly budget = WALK_BUDGET, private readonly typeId: (key: K) => number = (k) => Number(k)) {}

  /** Opens `key`; throws when it is open already (a cycle) or when the budget is spent. */
  enter(key: K): void {
    if (this.#open.has(key)) {
      const loop = [...this.#path.slice(this.#open.get(key)!), key];
      throw new BtfError(`${this.what}: type id cycle: ${loop.join(' -> ')} (a type that contains itself)`, { typeId: this.typeId(key) });
    }
    if (++this.#steps > this.budget) {
      throw new BtfError(`${this.what}: more than ${this.budget} steps through nested types (types that branch into each other at every level)`, { typeId: this.typeId(key) });
    }
    this.#open.set(key, this.#path.length);
    this.#path.push(key);
  }

  /** Closes the key opened last. */
  leave(): void {
    const k = this.#path.pop();
    if (k !== undefined) this.#open.delete(k);
  }

  /** `fn` with `key` open around it. */
  within<T>(key: K, fn: () => T): T {
    this.enter(key);
    try { return fn(); } finally { this.leave(); }
  }
}
