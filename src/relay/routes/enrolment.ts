// POST /v1/enrolment (docs/api.md §6.2-§6.3).

import type { Hono } from 'hono';
import { parseAddress } from '../../api/address.js';
import { toBase64url } from '../../api/base64url.js';
import { API_ROUTES } from '../../api/routes.js';
import { EnrolRequestSchema, PROTOCOL_LIMITS, type EnrolResponse } from '../../api/schemas.js';
import { wkdHash } from '../../api/wkd-hash.js';
import { checkEnrolmentProof } from '../enrolment-proof.js';
import { RelayHttpError } from '../http-error.js';
import { inviteTokenDigest } from '../invite-tokens.js';
import { parseJsonBody } from '../json-body.js';
import { deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import type { RelayEnv } from '../relay-env.js';
import type { Account } from '../store/relay-store.js';

const MAX_ENROLMENT_BODY = PROTOCOL_LIMITS.maxCertBytes + PROTOCOL_LIMITS.maxProofSignatureBytes + 4096;

function enrolResponse(account: Account): EnrolResponse {
  return {
    address: account.address,
    certFingerprint: account.certFingerprint,
    devicePublicKey: toBase64url(account.devicePublicKey),
    enrolledAt: account.enrolledAt,
  };
}

export function mountEnrolment(app: Hono<RelayEnv>, deps: RelayDeps, buckets: TokenBuckets): void {
  app.post(
    API_ROUTES.enrol.path,
    readBody(MAX_ENROLMENT_BODY),
    deviceAuth({ store: deps.store, domain: deps.domain, clock: deps.clock, requireEnrolled: false }),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const request = parseJsonBody(c.get('body'), EnrolRequestSchema);
      const device = c.get('device');
      const parsed = parseAddress(request.address);
      // docs/api.md §6.2: only addresses of this relay's domain.
      if (parsed === null || parsed.domain !== deps.domain) {
        throw new RelayHttpError(403, 'wrong_domain', `this relay enrols addresses @${deps.domain} only`);
      }
      const now = deps.clock();
      const checked = await checkEnrolmentProof({
        address: parsed.address,
        armoredCert: request.armoredCert,
        proofSignature: request.proofSignature,
        devicePublicKey: device.publicKey,
        domain: deps.domain,
        now,
      });

      // docs/api.md §6.2: repeating an enrolment that already succeeded is answered 200, without a new invite.
      const existing = await deps.store.accountByAddress(parsed.address);
      if (existing && existing.certFingerprint === checked.fingerprint && Buffer.from(existing.devicePublicKey).equals(device.publicKey)) {
        return c.json(enrolResponse(existing), 200);
      }

      let inviteDigest: string | null = null;
      if (deps.inviteTokenDigests !== null) {
        if (request.inviteToken === undefined) throw new RelayHttpError(403, 'invite_required', 'this relay requires an invite token to enrol');
        inviteDigest = inviteTokenDigest(request.inviteToken);
        if (!deps.inviteTokenDigests().has(inviteDigest)) throw new RelayHttpError(403, 'invite_invalid', 'this invite token is not valid or was already used');
      }
      const account: Account = {
        address: parsed.address,
        localPart: parsed.localPart,
        cert: checked.binary,
        certFingerprint: checked.fingerprint,
        devicePublicKey: device.publicKey,
        enrolledAt: now.toISOString(),
      };
      const result = await deps.store.createAccount({ ...account, wkdHash: wkdHash(parsed.localPart) }, inviteDigest);
      switch (result) {
        case 'created':
          return c.json(enrolResponse(account), 201);
        case 'address_taken':
          throw new RelayHttpError(409, 'address_taken', `the address ${parsed.address} is already enrolled`);
        case 'device_taken':
          throw new RelayHttpError(409, 'device_taken', 'this device key is already enrolled for another address');
        case 'invite_used':
          throw new RelayHttpError(403, 'invite_invalid', 'this invite token is not valid or was already used');
      }
    },
  );
}
