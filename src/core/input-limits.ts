// What caliop reads whole from its user: stdin and the files named on a command line
// (normative: docs/limits.md §5). A pipe or a named file can be endless (/dev/zero, `yes`):
// each read stops one byte past its ceiling and says so (input_too_large), before the
// memory it would take is asked for.
import { PROTOCOL_LIMITS } from '../api/limits.js';

export const WHOLE_INPUT_LIMITS = {
  /**
   * §5: stdin read whole as a message or as mail: `decrypt --json`, the body of `send`,
   * `contacts import`; the protocol's ceiling on a message (docs/limits.md §2.1).
   */
  stdinMessageBytes: PROTOCOL_LIMITS.maxMessageBytes,
  /** §5: stdin read whole as data by `verify` and by `caliop sop` (sign, verify, encrypt, decrypt, armor...). */
  stdinDataBytes: 256 * 1024 * 1024,
  /**
   * §5: a file named for certificates, keys, signatures, a password or a release certificate
   * (`caliop sop`'s CERTS, KEYS, SIGNATURES and @FD:/@ENV: inputs, `verify --signature`,
   * `stick verify --release-cert`): a keyring of 10,000 certificates of a few KiB each is well under it.
   */
  namedFileBytes: 64 * 1024 * 1024,
} as const;

/** docs/limits.md §5: the error's words for an input over its ceiling ("the signature file x is larger than 64 MiB, …"). */
export function inputTooLargeText(what: string, maxBytes: number): string {
  return `${what} is larger than ${maxBytes / (1024 * 1024)} MiB, the most caliop reads of it whole (docs/limits.md §5)`;
}
