/** Up to this many items, ByName compares names one by one instead of hashing each into a Map. */
const SCAN_NAMES = 32;

/**
 * Items of a short list (the symbols of one section, the variables of a DATASEC) found by
 * name: of two with one name, the first (`'first'`) or the last (`'last'`, as a Map filled
 * in list order keeps). Every name is a new string of this parse, and an object's section
 * has a few symbols: comparing a name to a few others (mostly a length compare) costs
 * less than hashing every one into a Map, which a longer list gets.
 */
export class ByName<T extends { readonly name: string }> {
  private readonly map: Map<string, T> | undefined;
  constructor(private readonly items: readonly T[], private readonly wins: 'first' | 'last') {
    if (items.length > SCAN_NAMES) {
      const map = this.map = new Map();
      for (const it of items) if (wins === 'last' || !map.has(it.name)) map.set(it.name, it);
    }
  }

  get(name: string): T | undefined {
    if (this.map) return this.map.get(name);
    const items = this.items;
    if (this.wins === 'first') {
      for (let i = 0; i < items.length; i++) if (items[i]!.name === name) return items[i];
    } else {
      for (let i = items.length - 1; i >= 0; i--) if (items[i]!.name === name) return items[i];
    }
    return undefined;
  }
}
