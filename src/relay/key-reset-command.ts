// `caliop-relay key-reset --data DIR [--store URL] --address A --fingerprint FPR [--days N]`
// (docs/api.md §6.6, docs/lost-stick.md §4): the operator lets one new key, named by its
// fingerprint, take an enrolled address, for N days (7 by default).

import { parseAddress } from '../api/address.js';
import { parse, storeOf } from './disclosure-command.js';
import { RelayUsageError } from './options.js';
import { openCommandStore } from './command-error.js';

export const KEY_RESET_USAGE = 'usage: caliop-relay key-reset --data DIR [--store URL] --address A --fingerprint FPR [--days N]';

const DEFAULT_DAYS = 7;
const MAX_DAYS = 30;

export async function keyResetCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now: Date): Promise<string> {
  const values = parse(argv, { data: { type: 'string' }, store: { type: 'string' }, address: { type: 'string' }, fingerprint: { type: 'string' }, days: { type: 'string' } });
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  const address = values.address === undefined ? undefined : parseAddress(values.address)?.address;
  if (address === undefined) throw new RelayUsageError(values.address === undefined ? '--address A is required' : `--address ${JSON.stringify(values.address)} is not a mail address`);
  // The fingerprint as read aloud or printed: spaces ignored, any case (docs/cli.md §3.5).
  const fingerprint = values.fingerprint?.replace(/\s+/g, '').toUpperCase();
  if (fingerprint === undefined || !/^[0-9A-F]{40}$/.test(fingerprint)) {
    throw new RelayUsageError('--fingerprint FPR is required: the 40 hexadecimal digits of the new key, as its owner reads them to you');
  }
  const days = values.days === undefined ? DEFAULT_DAYS : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new RelayUsageError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  // Like disclosure (docs/disclosure.md §4): a mistyped folder or a missing store is named, never created.
  const store = await openCommandStore(storeOf(values.store, env), values.data);
  try {
    const expiresAt = new Date(now.getTime() + days * 86_400_000).toISOString();
    const account = await store.accountByAddress(address);
    if (!account) throw new RelayUsageError(`${address} is not enrolled: a new key needs no reset, it enrols as usual`);
    if (account.certFingerprint === fingerprint) throw new RelayUsageError(`${fingerprint} is already the key of ${address}: a stick of that key enrols as another device, without a reset`);
    await store.permitKeyChange({ address, newFingerprint: fingerprint, openedAt: now.toISOString(), expiresAt });
    return (
      `caliop-relay: ${address} may take the key ${fingerprint} until ${expiresAt}\n` +
      `  its next enrolment with that key replaces ${account.certFingerprint}: every stick of the old key is revoked,\n` +
      `  and the directory announces the change to contacts with both certificates and the date (docs/api.md §7.1)\n`
    );
  } finally {
    await store.close();
  }
}
