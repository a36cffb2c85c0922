// docs/api.md §2: strict base64url, one spelling per value. fromBase64url reads the unused
// trailing bits from the last character (issue 14); this checks it against the definition
// (decode, encode again, compare) on every string of 1 to 3 characters, and on each last
// character after 4 to 86 others (every group length, the 32-byte keys and 64-byte signatures).

import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../../src/api/base64url.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The definition: base64url characters only, then the bytes must encode back to the same text. */
function byDefinition(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  return toBase64url(bytes) === text ? bytes : null;
}

function same(text: string): void {
  const expected = byDefinition(text);
  const got = fromBase64url(text);
  if (expected === null ? got !== null : got === null || Buffer.compare(got, expected) !== 0) {
    expect.fail(`fromBase64url(${JSON.stringify(text)}): ${got === null ? 'null' : toBase64url(got)}, expected ${expected === null ? 'null' : toBase64url(expected)}`);
  }
}

describe('fromBase64url (docs/api.md §2)', () => {
  it('agrees with decode-and-encode-again on every string of 0 to 3 characters', () => {
    same('');
    for (const a of ALPHABET) {
      same(a);
      for (const b of ALPHABET) {
        same(a + b);
        for (const c of ALPHABET) same(a + b + c);
      }
    }
  });

  it('agrees on every last character after 4 to 86 others, and refuses padding and other characters', () => {
    for (let length = 4; length <= 86; length++) {
      const head = ALPHABET.repeat(2).slice(length % 64, (length % 64) + length - 1).padEnd(length - 1, 'A');
      for (const last of ALPHABET) same(head + last);
    }
    for (const bad of ['AA==', 'AAA=', 'A+AA', 'A/AA', 'AA AA', 'AA\n', 'é', '']) same(bad);
    expect(fromBase64url('AA==')).toBeNull();
    expect(fromBase64url('AB')).toBeNull();
    expect(fromBase64url('AQ')).toEqual(new Uint8Array([1]));
  });
});
