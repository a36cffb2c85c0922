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
