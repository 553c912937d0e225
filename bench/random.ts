/**
 * A seeded random source (mulberry32): simulations, fault injection and benchmarks draw the same
 * numbers in every run, so a result can be repeated and a failure replayed.
 *
 * @example
 * const random = seededRandom(53659);
 * random(); // the same first draw every time, in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
