// The workload of the relay throughput bench (issue 14), one definition for today's relay
// (relay-throughput.ts) and the first wave's (relay-first-wave.ts), so that the two sides
// of a comparison carry the same messages under the same limits.

/** The relays' domain in the benches. */
export const BENCH_DOMAIN = 'bench.test';
/** The plaintext of each message (armored, encrypted, uncompressed: about 5.8 KB on the wire). */
export const PLAINTEXT_BYTES = 4096;
/** The relay's rate limits lifted: the bench measures throughput, not the limiter. */
export const RELAY_RATE_ARGS: readonly string[] = ['--rate-burst', '1000000', '--rate-per-minute', '1000000000'];
