// Checks an enrolment's OpenPGP side (docs/api.md §6.2): the certificate is a valid
// v4 public certificate with a valid user id for the address, and its
// signing-capable key signed the enrolment statement naming this device and relay.

import * as openpgp from 'openpgp';
import { buildEnrolmentStatement } from '../api/enrolment-statement.js';
import { RelayHttpError } from './http-error.js';

export interface EnrolmentProofInput {
  readonly address: string;
  readonly armoredCert: string;
  readonly proofSignature: string;
  readonly devicePublicKey: Uint8Array;
  readonly domain: string;
  readonly now: Date;
}

export interface CheckedCert {
  /** The certificate re-serialised in binary (public packets only). */
  readonly binary: Uint8Array;
  /** Upper-case hex. */
  readonly fingerprint: string;
}

const refuse = (status: 400 | 403, code: string, message: string, cause?: unknown) =>
  new RelayHttpError(status, code, message, cause === undefined ? {} : { cause });

/** Returns the checked certificate, or throws a RelayHttpError saying which check failed. */
export async function checkEnrolmentProof(input: EnrolmentProofInput): Promise<CheckedCert> {
  let cert: openpgp.Key;
  try {
    cert = await openpgp.readKey({ armoredKey: input.armoredCert });
  } catch (error) {
    throw refuse(400, 'cert_invalid', 'armoredCert is not an ASCII-armored OpenPGP certificate', error);
  }
  // docs/api.md §6.2: a cert holds no secret; v4 only (what the stick makes).
  if (cert.isPrivate()) throw refuse(400, 'cert_invalid', 'armoredCert holds secret key material; send the public certificate only');
  if (cert.keyPacket.version !== 4) throw refuse(400, 'cert_invalid', `armoredCert is a v${cert.keyPacket.version} certificate; this relay takes v4`);
  try {
    await cert.verifyPrimaryKey(input.now);
  } catch (error) {
    throw refuse(403, 'cert_invalid', 'the certificate is expired, revoked or not self-signed', error);
  }

  // docs/api.md §6.2: a valid (self-signed, unrevoked) user id whose address is the enrolled one.
  let hasAddress = false;
  for (const user of cert.users) {
    if (user.userID?.email.toLowerCase() !== input.address) continue;
    hasAddress = await user.verify(input.now).then(
      () => true,
      () => false,
    );
    if (hasAddress) break;
  }
  if (!hasAddress) throw refuse(403, 'address_not_in_cert', `the certificate has no valid user id with the address ${input.address}`);

  const statement = buildEnrolmentStatement({ address: input.address, devicePublicKey: input.devicePublicKey, domain: input.domain });
  try {
    const signature = await openpgp.readSignature({ armoredSignature: input.proofSignature });
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(statement) });
    // openpgp.js only accepts a signature from a key of `cert` that may sign at `now`.
    const { signatures } = await openpgp.verify({ message, signature, verificationKeys: cert, expectSigned: true, date: input.now });
    if (signatures.length !== 1) throw new Error('exactly one signature expected');
  } catch (error) {
    throw refuse(403, 'proof_invalid', 'proofSignature is not a valid signature of the enrolment statement (docs/api.md §6.2) by this certificate', error);
  }
  return { binary: cert.toPublic().write(), fingerprint: cert.getFingerprint().toUpperCase() };
}
