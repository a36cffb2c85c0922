// The key directory (docs/api.md §7): GET /v1/certs/:address, and the Web Key
// Directory in its advanced and direct forms (draft-koch-openpgp-webkey-service §3.1).
// Public: no signature needed, certificates are public by nature.

import type { Context } from 'hono';
import * as openpgp from 'openpgp';
import { parseAddress } from '../../api/address.js';
import { wkdCertBody } from '../../api/directory-cert.js';
import { PROTOCOL_LIMITS, UpdateCertRequestSchema, type CertResponse } from '../../api/schemas.js';
import { mergedCert } from '../cert-merge.js';
import { parseJsonBody } from '../json-body.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import { wkdHash } from '../../api/wkd-hash.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayDeps } from '../relay-deps.js';
import { pathParam, routeOf, type RelayRoutes } from '../relay-routes.js';
import type { RelayEnv } from '../relay-env.js';
import type { Account } from '../store/relay-store.js';

const WKD_HASH = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$/;

const certNotFound = () => new RelayHttpError(404, 'cert_not_found', 'no certificate is published for this address');

/**
 * docs/api.md §7.3: the certificate the caller publishes for its own address: the same
 * v4 key (same fingerprint), public only, self-signed; revoked is allowed (that is how a
 * revocation is published), but a revoked key stays revoked. Merged into the one held
 * (src/relay/cert-merge.ts): a cert only grows.
 */
async function checkedUpdate(armoredCert: string, stored: Uint8Array, fingerprint: string): Promise<Uint8Array> {
  let cert: openpgp.Key;
  try {
    cert = await openpgp.readKey({ armoredKey: armoredCert });
  } catch (error) {
    throw new RelayHttpError(400, 'cert_invalid', 'armoredCert is not an ASCII-armored OpenPGP certificate', { cause: error });
  }
  if (cert.isPrivate()) throw new RelayHttpError(400, 'cert_invalid', 'armoredCert holds secret key material; send the public certificate only');
  if (cert.getFingerprint().toUpperCase() !== fingerprint) {
    throw new RelayHttpError(409, 'cert_fingerprint_mismatch', 'this is another key; a new key for an address needs a new enrolment');
  }
  const revoked = await cert.isRevoked().catch(() => false);
  if (!revoked) {
    try {
      await cert.verifyPrimaryKey();
    } catch (error) {
      throw new RelayHttpError(403, 'cert_invalid', 'the certificate is not validly self-signed', { cause: error });
    }
  }
  const before = await openpgp.readKey({ binaryKey: stored as Uint8Array<ArrayBuffer> });
  if (!revoked && (await before.isRevoked().catch(() => false))) {
    throw new RelayHttpError(409, 'cert_revoked', 'the directory holds a revocation of this key; a revoked key stays revoked');
  }
  return mergedCert(stored, cert);
}

/** docs/api.md §7.1: a key change (§6.6) is announced with the previous certificate and its date. */
async function announcedKeyChange(account: Account): Promise<Pick<CertResponse, 'keyChange'>> {
  if (!account.keyChange) return {};
  const previous = await openpgp.readKey({ binaryKey: account.keyChange.previousCert as Uint8Array<ArrayBuffer> });
  return { keyChange: { previousCert: previous.armor(), previousFingerprint: previous.getFingerprint().toUpperCase(), changedAt: account.keyChange.changedAt } };
}

export function directoryRoutes(deps: RelayDeps, buckets: TokenBuckets): Pick<RelayRoutes, 'updateCert' | 'cert' | 'wkdDirectKey' | 'wkdDirectPolicy' | 'wkdAdvancedKey' | 'wkdAdvancedPolicy'> {
  const updateCert = routeOf(
    readBody(PROTOCOL_LIMITS.maxCertBytes + 1024),
    deviceAuth(authFor(deps, 'updateCert')),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const account = c.get('device').account;
      if (account === undefined) throw new Error('deviceAuth let an unenrolled device through');
      const parsed = parseAddress(pathParam(c, 'address'));
      if (parsed?.address !== account.address) throw new RelayHttpError(403, 'not_your_address', 'a device publishes the certificate of its own address only');
      const request = parseJsonBody(c.get('body'), UpdateCertRequestSchema);
      const binary = await checkedUpdate(request.armoredCert, account.cert, account.certFingerprint);
      if (!(await deps.store.replaceCert(account.address, account.certFingerprint, binary))) throw certNotFound();
      const cert = await openpgp.readKey({ binaryKey: binary as Uint8Array<ArrayBuffer> });
      const body: CertResponse = { address: account.address, armoredCert: cert.armor() };
      return c.json(body);
    },
  );

  const cert = routeOf(async (c) => {
    const parsed = parseAddress(pathParam(c, 'address'));
    const account = parsed && (await deps.store.accountByAddress(parsed.address));
    if (!account) throw certNotFound();
    const cert = await openpgp.readKey({ binaryKey: account.cert as Uint8Array<ArrayBuffer> });
    const body: CertResponse = { address: account.address, armoredCert: cert.armor(), ...(await announcedKeyChange(account)) };
    return c.json(body);
  });

  // WKD draft §3.1: the key is served in binary, looked up by the hash of the local part;
  // `l` carries the local part itself (draft §3.1, "?l=" parameter).
  const serveWkdKey = async (c: Context<RelayEnv>) => {
    const hash = c.req.param('hash') ?? '';
    if (!WKD_HASH.test(hash)) throw certNotFound();
    const local = c.req.query('l');
    let account: Account | undefined;
    if (local !== undefined) {
      const parsed = parseAddress(`${local}@${deps.domain}`);
      if (parsed === null || wkdHash(parsed.localPart) !== hash) throw certNotFound();
      account = await deps.store.accountByAddress(parsed.address);
    } else {
      const accounts = await deps.store.accountsByWkdHash(hash);
      account = accounts.length === 1 ? accounts[0] : undefined;
    }
    if (!account) throw certNotFound();
    // docs/api.md §7.2: anyone's OpenPGP program asks here: the cert outsiders get (no post-quantum subkey).
    return c.body(Buffer.from(wkdCertBody(account.cert)), 200, { 'Content-Type': 'application/octet-stream', 'Access-Control-Allow-Origin': '*' });
  };
  // WKD draft §4.5: the policy file may be empty; its presence says the domain takes part.
  const servePolicy = (c: Context<RelayEnv>) => c.body('', 200, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' });
  const checkDomain = (c: Context<RelayEnv>) => {
    if ((c.req.param('domain') ?? '').toLowerCase() !== deps.domain) throw certNotFound();
  };

  const wkdDirectKey = routeOf(serveWkdKey);
  const wkdDirectPolicy = routeOf(servePolicy);
  const wkdAdvancedKey = routeOf((c) => {
    checkDomain(c);
    return serveWkdKey(c);
  });
  const wkdAdvancedPolicy = routeOf((c) => {
    checkDomain(c);
    return servePolicy(c);
  });
  return { updateCert, cert, wkdDirectKey, wkdDirectPolicy, wkdAdvancedKey, wkdAdvancedPolicy };
}
