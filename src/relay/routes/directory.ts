// The key directory (docs/api.md §7): GET /v1/certs/:address, and the Web Key
// Directory in its advanced and direct forms (draft-koch-openpgp-webkey-service §3.1).
// Public: no signature needed, certificates are public by nature.

import type { Context, Hono } from 'hono';
import * as openpgp from 'openpgp';
import { parseAddress } from '../../api/address.js';
import { API_ROUTES } from '../../api/routes.js';
import type { CertResponse } from '../../api/schemas.js';
import { wkdHash } from '../../api/wkd-hash.js';
import { RelayHttpError } from '../http-error.js';
import type { RelayDeps } from '../relay-deps.js';
import type { RelayEnv } from '../relay-env.js';
import type { Account } from '../store/relay-store.js';

const WKD_HASH = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$/;

const certNotFound = () => new RelayHttpError(404, 'cert_not_found', 'no certificate is published for this address');

export function mountDirectory(app: Hono<RelayEnv>, deps: RelayDeps): void {
  app.get(API_ROUTES.cert.path, async (c) => {
    const parsed = parseAddress(c.req.param('address'));
    const account = parsed && (await deps.store.accountByAddress(parsed.address));
    if (!account) throw certNotFound();
    const cert = await openpgp.readKey({ binaryKey: account.cert as Uint8Array<ArrayBuffer> });
    const body: CertResponse = { address: account.address, armoredCert: cert.armor() };
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
    return c.body(Buffer.from(account.cert), 200, { 'Content-Type': 'application/octet-stream', 'Access-Control-Allow-Origin': '*' });
  };
  // WKD draft §4.5: the policy file may be empty; its presence says the domain takes part.
  const servePolicy = (c: Context<RelayEnv>) => c.body('', 200, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' });
  const checkDomain = (c: Context<RelayEnv>) => {
    if ((c.req.param('domain') ?? '').toLowerCase() !== deps.domain) throw certNotFound();
  };

  app.get(API_ROUTES.wkdDirectKey.path, serveWkdKey);
  app.get(API_ROUTES.wkdDirectPolicy.path, servePolicy);
  app.get(API_ROUTES.wkdAdvancedKey.path, (c) => {
    checkDomain(c);
    return serveWkdKey(c);
  });
  app.get(API_ROUTES.wkdAdvancedPolicy.path, (c) => {
    checkDomain(c);
    return servePolicy(c);
  });
}
