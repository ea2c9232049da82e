// A small seeded random generator for the fuzzer.
// Takes: a seed and a case number. Gives: a stream of numbers that depends on nothing else, so
// case 1234 of seed 7 is the same program on every machine, in any worker, in any order.
// Must not: use Math.random or the clock.

/** splitmix32 of (seed, index): independent streams per case without a shared state. */
export function rngFor(seed, index) {
  let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
  const r = {
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    /** A weighted choice: `[[weight, value], ...]`. */
    weighted: (pairs) => {
      let x = next() * pairs.reduce((a, [w]) => a + w, 0);
      for (const [w, v] of pairs) if ((x -= w) < 0) return v;
      return pairs[pairs.length - 1][1];
    },
  };
  return r;
}
