// docs/api.md §4: request signing known-answer vectors (test/relay/vectors/request-signing/,
// one case per file, each saying what must happen), checked against our code and,
// independently, against node:crypto's Ed25519 and SHA-256.

import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildEnrolmentStatement } from '../../src/api/enrolment-statement.js';
import { canonicalRequestString, nobleEd25519Verify, nobleSha256Hex, signRequest, verifyRequestSignature } from '../../src/api/request-signing.js';
import { ed25519Signer, runtimeSha256Hex } from '../../src/edges/relay-client.js';
import { opensslEd25519Verify } from '../../src/relay/ed25519-verify.js';

interface RequestInVector {
  method: string;
  pathWithQuery: string;
  bodyUtf8: string;
  domain: string;
}
interface Vector {
  description: string;
  expect: 'valid' | 'bad_signature' | 'stale_timestamp' | 'unsigned' | 'malformed';
  deviceSecretKeyHex: string;
  signedRequest: RequestInVector;
  canonical: string;
  headers: Record<string, string>;
  verifiedRequest: RequestInVector;
  now: string;
}

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), 'vectors', 'request-signing');
const vectors = readdirSync(VECTORS)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => [name, JSON.parse(readFileSync(join(VECTORS, name), 'utf8')) as Vector] as const);

const toRequest = (r: RequestInVector) => ({ method: r.method, pathWithQuery: r.pathWithQuery, body: new TextEncoder().encode(r.bodyUtf8), domain: r.domain });

function nodeEd25519Verify(publicKeyB64url: string, message: string, signatureB64url: string): boolean {
  // RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 key.
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyB64url, 'base64url')]);
  return nodeVerify(null, Buffer.from(message), createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(signatureB64url, 'base64url'));
}

describe('request signing vectors', () => {
  it('there are vectors for every outcome', () => {
    expect(new Set(vectors.map(([, v]) => v.expect))).toEqual(new Set(['valid', 'bad_signature', 'stale_timestamp', 'unsigned', 'malformed']));
  });

  for (const [name, vector] of vectors) {
    it(`${name}: ${vector.description} -> ${vector.expect}`, () => {
      const timestamp = vector.headers['caliop-timestamp']!;
      const nonce = vector.headers['caliop-nonce']!;
      const signed = toRequest(vector.signedRequest);
      if (vector.expect !== 'malformed') expect(canonicalRequestString(signed, { timestamp, nonce })).toBe(vector.canonical);
      // The body line is the hex SHA-256 of the body (independent implementation).
      expect(vector.canonical.split('\n')[3]).toBe(createHash('sha256').update(vector.signedRequest.bodyUtf8).digest('hex'));

      // The same outcome with the default verifier (@noble/curves) and the relay's (OpenSSL).
      for (const verifier of [nobleEd25519Verify, opensslEd25519Verify]) {
        const result = verifyRequestSignature(toRequest(vector.verifiedRequest), (h) => vector.headers[h], new Date(vector.now), verifier);
        expect(result.ok ? 'valid' : result.reason).toBe(vector.expect);
      }

      if (['valid', 'bad_signature', 'stale_timestamp'].includes(vector.expect)) {
        // Ed25519 is deterministic (RFC 8032 §5.1.6): signing again gives the same headers...
        const secretKey = Buffer.from(vector.deviceSecretKeyHex, 'hex');
        const again = signRequest(signed, secretKey, new Date(Number(timestamp) * 1000), nonce);
        expect(again).toEqual(vector.headers);
        // ...and so does the RelayClient's path (node:crypto's Ed25519 and SHA-256).
        expect(signRequest(signed, secretKey, new Date(Number(timestamp) * 1000), nonce, undefined, ed25519Signer(secretKey), runtimeSha256Hex)).toEqual(vector.headers);
        // ...and node:crypto agrees that the signature covers the canonical string.
        expect(nodeEd25519Verify(vector.headers['caliop-device']!, vector.canonical, vector.headers['caliop-signature']!)).toBe(true);
      }
    });
  }

  it("the client's node:crypto path signs and hashes byte for byte as noble, whatever the key and body size", () => {
    for (let i = 0; i < 40; i++) {
      const secretKey = createHash('sha256').update(`key ${i}`).digest();
      // Sizes around SHA-256's 64-byte blocks and its padding edge (55/56), and message-sized bodies.
      const size = [0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, 5816, 65_537][i % 12]! + Math.floor(i / 12);
      const body = new Uint8Array(size).map((_, index) => (index * 31 + i) & 0xff);
      expect(runtimeSha256Hex(body)).toBe(nobleSha256Hex(body));
      const request = { method: 'POST', pathWithQuery: '/v1/messages', body, domain: 'example.org' };
      const now = new Date(1_700_000_000_000 + i * 1000);
      const nonce = `nonce-${String(i).padStart(12, '0')}`;
      expect(signRequest(request, secretKey, now, nonce, undefined, ed25519Signer(secretKey), runtimeSha256Hex)).toEqual(signRequest(request, secretKey, now, nonce));
    }
  });

  it('both verifiers refuse a non-canonical S (S + L) and a key that is not a point', () => {
    const vector = vectors.find(([, v]) => v.expect === 'valid')![1];
    const message = new TextEncoder().encode(vector.canonical);
    const signature = Buffer.from(vector.headers['caliop-signature']!, 'base64url');
    const publicKey = Buffer.from(vector.headers['caliop-device']!, 'base64url');
    // RFC 8032 §5.1.7: S must be < L; add L = 2^252 + 27742317777372353535851937790883648493 to S (little-endian).
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
    let big = s + L;
    const malleated = Buffer.from(signature);
    for (let i = 32; i < 64; i++) {
      malleated[i] = Number(big & 0xffn);
      big >>= 8n;
    }
    const notAPoint = Buffer.alloc(32, 0xff);
    notAPoint[31] = 0x7f;
    for (const verifier of [nobleEd25519Verify, opensslEd25519Verify]) {
      expect(verifier(signature, message, publicKey)).toBe(true);
      expect(verifier(malleated, message, publicKey)).toBe(false);
      expect(verifier(signature, message, notAPoint)).toBe(false);
    }
  });

  it('refuses line breaks that would make two requests share a canonical string', () => {
    const body = new Uint8Array();
    expect(() => canonicalRequestString({ method: 'GET', pathWithQuery: '/a\nb', body, domain: 'x.test' }, { timestamp: '1', nonce: 'n' })).toThrow();
    expect(() => canonicalRequestString({ method: 'GET', pathWithQuery: 'relative', body, domain: 'x.test' }, { timestamp: '1', nonce: 'n' })).toThrow();
  });
});

describe('enrolment statement', () => {
  it('is four LF-separated lines, lower-cased, with the base64url device key (docs/api.md §6.2)', () => {
    const devicePublicKey = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
    expect(buildEnrolmentStatement({ address: 'Alice@Example.TEST', devicePublicKey, domain: 'Example.Test' })).toBe(
      'Caliop enrolment v1\naddress: alice@example.test\ndevice: 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\nrelay: example.test',
    );
  });
});
