// POST /v1/enrolment (docs/api.md §6.2-§6.3).

import * as openpgp from 'openpgp';
import { parseAddress, roleOf } from '../../api/address.js';
import { toBase64url } from '../../api/base64url.js';
import { EnrolRequestSchema, PROTOCOL_LIMITS, type EnrolResponse } from '../../api/schemas.js';
import { wkdHash } from '../../api/wkd-hash.js';
import { mergedCert } from '../cert-merge.js';
import { checkEnrolmentProof } from '../enrolment-proof.js';
import { RelayHttpError } from '../http-error.js';
import { inviteTokenDigest } from '../invite-tokens.js';
import { parseJsonBody } from '../json-body.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import { routeOf, type RelayRoutes } from '../relay-routes.js';
import type { RelayEnv } from '../relay-env.js';
import { FIRST_DEVICE_NAME, type Account } from '../store/relay-store.js';

const MAX_ENROLMENT_BODY = PROTOCOL_LIMITS.maxCertBytes + PROTOCOL_LIMITS.maxProofSignatureBytes + 4096;

function enrolResponse(account: Account, device: { devicePublicKey: Uint8Array; enrolledAt: string; name: string }): EnrolResponse {
  return {
    address: account.address,
    certFingerprint: account.certFingerprint,
    devicePublicKey: toBase64url(device.devicePublicKey),
    enrolledAt: device.enrolledAt,
    deviceName: device.name,
  };
}

/** docs/api.md §6.4: the first free `stick-N` of the account. */
function nextDeviceName(taken: readonly string[]): string {
  const names = new Set(taken);
  for (let n = taken.length + 1; ; n += 1) if (!names.has(`stick-${n}`)) return `stick-${n}`;
}

/** docs/api.md §6.2 steps 5-6, §7.3: the directory's cert merged with the one this enrolment proved. */
async function keepNewerCert(deps: RelayDeps, account: Account, proven: Uint8Array): Promise<void> {
  const merged = await mergedCert(account.cert, await openpgp.readKey({ binaryKey: proven as Uint8Array<ArrayBuffer> }));
  if (Buffer.from(merged).equals(Buffer.from(account.cert))) return;
  await deps.store.replaceCert(account.address, account.certFingerprint, merged);
}

export function enrolmentRoutes(deps: RelayDeps, buckets: TokenBuckets): Pick<RelayRoutes, 'enrol'> {
  const enrol = routeOf(
    readBody(MAX_ENROLMENT_BODY),
    deviceAuth(authFor(deps, 'enrol')),
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

      // docs/api.md §6.2 step 5: repeating an enrolment that already succeeded is answered 200, without a new invite.
      const existing = await deps.store.accountByAddress(parsed.address);
      const enrolled = device.enrolment;
      // The same key may come with more than the directory holds (the post-quantum subkey of a
      // stick made before it, a renewal): merged in, as PUT /v1/certs does (§7.3).
      if (existing && existing.certFingerprint === checked.fingerprint) await keepNewerCert(deps, existing, checked.binary);
      if (existing && existing.certFingerprint === checked.fingerprint && enrolled?.address === existing.address) {
        return c.json(enrolResponse(existing, enrolled), 200);
      }
      // docs/api.md §6.2 step 6: one more stick of the same person (the same certificate, proven
      // by proofSignature over this device's key) joins the account without an invite.
      if (existing && existing.certFingerprint === checked.fingerprint && enrolled === undefined) {
        const taken = (await deps.store.devicesOf(existing.address)).map((other) => other.name);
        const name = request.deviceName ?? nextDeviceName(taken);
        const added = { address: existing.address, certFingerprint: checked.fingerprint, devicePublicKey: device.publicKey, name, enrolledAt: now.toISOString() };
        const result = await deps.store.addDevice(added);
        switch (result) {
          case 'created':
            return c.json(enrolResponse(existing, added), 201);
          case 'name_taken':
            throw new RelayHttpError(409, 'device_name_taken', `this account already has a device named ${name}`);
          case 'device_taken':
            throw new RelayHttpError(409, 'device_taken', 'this device key is already enrolled');
          case 'no_account':
          case 'cert_mismatch':
            throw new RelayHttpError(409, 'address_taken', `the address ${parsed.address} is already enrolled with another certificate`);
        }
      }

      // docs/api.md §6.6: another key for an enrolled address (a new ceremony) takes it only
      // under the operator's permit naming this fingerprint; the old key is then announced.
      if (existing && existing.certFingerprint !== checked.fingerprint) {
        const taken = (await deps.store.devicesOf(existing.address)).map((other) => other.name);
        const name = request.deviceName ?? nextDeviceName(taken);
        const change = { address: existing.address, cert: checked.binary, certFingerprint: checked.fingerprint, devicePublicKey: device.publicKey, deviceName: name, changedAt: now.toISOString() };
        switch (await deps.store.changeKey(change)) {
          case 'changed':
            return c.json(enrolResponse({ ...existing, certFingerprint: checked.fingerprint }, { ...change, enrolledAt: change.changedAt, name }), 201);
          case 'no_permit':
            throw new RelayHttpError(409, 'address_taken', `the address ${parsed.address} is enrolled with another key; a new key takes it only after the relay's operator allows that key (docs/lost-stick.md §4)`);
          case 'name_taken':
            throw new RelayHttpError(409, 'device_name_taken', `this account already has a device named ${name}`);
          case 'device_taken':
            throw new RelayHttpError(409, 'device_taken', 'this device key is already enrolled');
        }
      }

      // docs/api.md §3.1, §6.2 step 7: a role address is never a new account (one enrolled before the rule keeps its devices).
      const role = roleOf(parsed.localPart);
      if (role !== null) {
        throw new RelayHttpError(403, 'address_reserved', `${parsed.address} is a role address (${role}@) that this relay keeps for its operator; choose another address`);
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
      const deviceName = request.deviceName ?? FIRST_DEVICE_NAME;
      const result = await deps.store.createAccount({ ...account, wkdHash: wkdHash(parsed.localPart), deviceName }, inviteDigest);
      switch (result) {
        case 'created':
          return c.json(enrolResponse(account, { ...account, name: deviceName }), 201);
        case 'address_taken':
          throw new RelayHttpError(409, 'address_taken', `the address ${parsed.address} is already enrolled`);
        case 'device_taken':
          throw new RelayHttpError(409, 'device_taken', 'this device key is already enrolled for another address');
        case 'invite_used':
          throw new RelayHttpError(403, 'invite_invalid', 'this invite token is not valid or was already used');
      }
    },
  );
  return { enrol };
}
