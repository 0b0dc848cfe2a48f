/**
 * Sorting lists that are usually sorted already (records by instruction offset, functions
 * by slot): a check first, since Array.prototype.sort copies the array even when there is
 * nothing to move, and parsing an object sorts a few dozen small lists.
 */
export function sortByKey<T>(list: T[], key: (x: T) => number): T[] {
  for (let i = 1; i < list.length; i++) {
    if (key(list[i - 1]!) > key(list[i]!)) return list.sort((a, b) => key(a) - key(b));
  }
  return list;
}
