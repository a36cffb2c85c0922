// The seeded PRNG of the fuzzer and of the tests that draw random cases (mulberry32): a case
// is replayed from the seed printed when it fails. Not for anything secret.

/** A stream of numbers in [0, 1) from a 32-bit seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `length` bytes from a seeded stream: for tests whose outcome could depend on the bytes (a
 * statistical bound, a value that must be refused), so that a run never draws a rare failing case.
 */
export function prngBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}
