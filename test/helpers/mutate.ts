// The fuzzers' mutations of an object's bytes (test/unit/fuzz.test.ts parses them,
// test/kernel/fuzz-load.test.ts loads those that still parse): a seeded xorshift, then 1-6
// edits (random bytes, bit flips, boundary words, truncation, copied blocks), biased to the
// section header table where structural damage is interesting.

/** A seeded xorshift32 in [0, 1): the same seed gives the same run. */
export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

/** Word values at the edges of the ranges parsers check. */
const INTERESTING = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** A mutated copy of `src` (never `src` itself). */
export function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = Uint8Array.from(src);
  const edits = 1 + Math.floor(r() * 6);
  // section header table: where the structural damage is interesting
  const dv = new DataView(b.buffer);
  const shoff = b.length >= 64 ? Number(dv.getBigUint64(40, true)) : 0;
  for (let e = 0; e < edits; e++) {
    const how = r();
    const hot = r() < 0.4 && shoff > 0 && shoff < b.length ? shoff + Math.floor(r() * (b.length - shoff)) : Math.floor(r() * b.length);
    const at = Math.min(hot, b.length - 1);
    if (how < 0.4) b[at] = Math.floor(r() * 256);
    else if (how < 0.6) b[at]! ^= 1 << Math.floor(r() * 8);
    else if (how < 0.85 && at + 4 <= b.length) new DataView(b.buffer).setUint32(at - (at % 4), INTERESTING[Math.floor(r() * INTERESTING.length)]!, true);
    else if (how < 0.95) b = b.slice(0, Math.floor(r() * b.length));
    else if (at + 8 <= b.length) b.copyWithin(at, Math.floor(r() * (b.length - 8)), Math.floor(r() * (b.length - 8)) + 8);
    if (b.length === 0) break;
  }
  return b;
}
