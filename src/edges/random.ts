// The OS CSPRNG: the only source of randomness of the stick side (core, edges,
// services, faces); a test may hand another RandomSource where a function takes one.
// The relay and the flashing station are separate programs and draw their own.
import { webcrypto } from 'node:crypto';

/** n bytes from a cryptographically secure source. */
export type RandomSource = (length: number) => Uint8Array;

export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  // getRandomValues fills at most 65536 bytes per call.
  for (let offset = 0; offset < length; offset += 65_536) {
    webcrypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)));
  }
  return bytes;
}

/** Bytes drawn per refill of the pool of small values (node's randomUUID keeps a pool the same way). */
const POOL_BYTES = 4096;
let pool: Uint8Array = new Uint8Array(0);
let poolUsed = 0;

/**
 * `length` (at most 256) bytes for a small public value drawn often (a request nonce, docs/api.md §4.1):
 * from the same CSPRNG, refilled POOL_BYTES at a time, each byte handed out once and then zeroed
 * in the pool. One call to the system source per 256 nonces instead of one each: it was a fifth of
 * the client's signing cost in the relay bench.
 */
export function randomSmallBytes(length: number): Uint8Array {
  if (length > 256) return randomBytes(length);
  if (poolUsed + length > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolUsed = 0;
  }
  const bytes = pool.slice(poolUsed, poolUsed + length);
  pool.fill(0, poolUsed, poolUsed + length);
  poolUsed += length;
  return bytes;
}
