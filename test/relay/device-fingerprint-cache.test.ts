// docs/api.md §4.5 and §5.3: the device fingerprint names a device in the log and keys its
// rate-limit bucket. device-auth.ts keeps recent ones by Caliop-Device header (issue 14):
// each request, whichever device came before, still gets its own key's fingerprint.

import { ed25519 } from '@noble/curves/ed25519.js';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticateRequest } from '../../src/relay/middleware/device-auth.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { signedHeaders } from './helpers/raw-request.js';

const DOMAIN = 'fingerprint.test';

describe('device fingerprints (docs/api.md §4.5)', () => {
  it('each signed request carries the fingerprint of its own key, devices interleaved', async () => {
    const now = new Date();
    const store = {
      authenticate: async () => ({ found: { device: { name: 'stick', revokedAt: null, lastSeenAt: now.toISOString() }, account: { address: 'a@fingerprint.test' } }, fresh: true }),
      touchDevice: async () => {},
    } as unknown as RelayStore;
    const devices = Array.from({ length: 3 }, (_, i) => ed25519.utils.randomSecretKey(new Uint8Array(32).fill(i + 1)));
    for (let round = 0; round < 3; round++) {
      for (const secret of devices) {
        const headers = signedHeaders(secret, DOMAIN, { method: 'GET', path: '/v1/messages' }, { now });
        const signed = await authenticateRequest(
          { store, domain: DOMAIN, clock: () => now, requireEnrolled: true },
          { method: 'GET', pathWithQuery: '/v1/messages', body: new Uint8Array(0), bodyDigest: undefined, header: (name) => headers[name] },
        );
        const expected = createHash('sha256').update(ed25519.getPublicKey(secret)).digest('hex').slice(0, 12);
        expect(signed.fingerprint, `round ${round}`).toBe(expected);
      }
    }
  });
});
