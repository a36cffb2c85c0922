// Certificate pins (docs/api.md §9): `sha256/` + base64 of the SHA-256 of the DER
// SubjectPublicKeyInfo, the form of RFC 7469 §2.4 (HPKP's pin-sha256).

import { sha256 } from '@noble/hashes/sha2.js';

const PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

export function spkiPin(subjectPublicKeyInfoDer: Uint8Array): string {
  return `sha256/${Buffer.from(sha256(subjectPublicKeyInfoDer)).toString('base64')}`;
}

export function isValidPin(pin: string): boolean {
  return PIN.test(pin);
}
