// docs/api.md §6.3: invite tokens, one per line in the --invite-tokens file, each
// usable once (used ones are recorded in the database by SHA-256).

import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export function inviteTokenDigest(token: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(token)));
}

/** Reads the token file: one token per line; blank lines and lines starting with # are ignored. */
export function parseInviteTokens(text: string): Set<string> {
  const digests = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const token = line.trim();
    if (token === '' || token.startsWith('#')) continue;
    digests.add(inviteTokenDigest(token));
  }
  return digests;
}

export function readInviteTokens(file: string): Set<string> {
  return parseInviteTokens(readFileSync(file, 'utf8'));
}
