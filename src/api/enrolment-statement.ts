// The enrolment statement (docs/api.md §6.2): the text the user's OpenPGP key signs
// to prove that it consents to being bound to this address, device and relay.

import { toBase64url } from './base64url.js';

export interface EnrolmentStatementInput {
  /** The address being enrolled, e.g. `alice@example.org` (lower-cased here). */
  readonly address: string;
  /** The device's raw Ed25519 public key (32 bytes). */
  readonly devicePublicKey: Uint8Array;
  /** The relay's mail domain (`caliop-relay --domain`). */
  readonly domain: string;
}

/**
 * docs/api.md §6.2: four lines joined by LF, no trailing newline. The caller signs
 * its UTF-8 bytes with a detached OpenPGP signature (binary or text mode).
 */
export function buildEnrolmentStatement(input: EnrolmentStatementInput): string {
  if (input.devicePublicKey.length !== 32) throw new TypeError('devicePublicKey must be 32 bytes');
  for (const value of [input.address, input.domain]) {
    if (/[\r\n]/.test(value)) throw new TypeError('no line breaks allowed');
  }
  return [
    'Caliop enrolment v1',
    `address: ${input.address.toLowerCase()}`,
    `device: ${toBase64url(input.devicePublicKey)}`,
    `relay: ${input.domain.toLowerCase()}`,
  ].join('\n');
}
