// `caliop-relay disclosure --data DIR [--store URL] --address A [--since DATE] --out PATH`
// and `caliop-relay disclosure-log --data DIR [--store URL]` (docs/disclosure.md §4, §5).

import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAddress } from '../api/address.js';
import { ensureDisclosureKey, makeDisclosure, verifyDisclosureLog } from './disclosure.js';
import { RelayUsageError } from './options.js';
import { readLogLines } from './relay-log.js';
import { openRelayStore, parseStoreLocation, type StoreLocation } from './store/open-store.js';

export const DISCLOSURE_USAGE = 'usage: caliop-relay disclosure --data DIR [--store URL] --address A [--since DATE] --out PATH';
export const DISCLOSURE_LOG_USAGE = 'usage: caliop-relay disclosure-log --data DIR [--store URL]';

/** A disclosure log that does not verify (exit 3, docs/disclosure.md §5). */
export class DisclosureLogBroken extends Error {
  override readonly name = 'DisclosureLogBroken';
}

export function parse(argv: readonly string[], options: Record<string, { type: 'string' }>): Record<string, string | undefined> {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new RelayUsageError((error as Error).message);
  }
}

export function storeOf(text: string | undefined, env: Readonly<Record<string, string | undefined>>): StoreLocation {
  const given = text ?? env.CALIOP_RELAY_STORE;
  if (given === undefined || given === '') return { kind: 'sqlite', file: null };
  const parsed = parseStoreLocation(given);
  if (parsed === null) throw new RelayUsageError(`--store must be postgres://… or sqlite:FILE${text === undefined ? ' (from CALIOP_RELAY_STORE)' : ''}`);
  return parsed;
}

/** DATE: YYYY-MM-DD (midnight UTC) or an ISO 8601 time with its zone. */
export function parseSince(text: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00.000Z` : text;
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(day) ? new Date(day) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) throw new RelayUsageError(`--since must be YYYY-MM-DD or an ISO 8601 time with its zone, not ${JSON.stringify(text)}`);
  return time.toISOString();
}

export async function disclosureCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now: Date): Promise<string> {
  const values = parse(argv, { data: { type: 'string' }, store: { type: 'string' }, address: { type: 'string' }, since: { type: 'string' }, out: { type: 'string' } });
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  if (!values.address) throw new RelayUsageError('--address A is required');
  const address = parseAddress(values.address)?.address;
  if (address === undefined) throw new RelayUsageError(`--address ${JSON.stringify(values.address)} is not a mail address`);
  if (!values.out) throw new RelayUsageError('--out PATH is required');
  // Checked before the log line is written: a refused disclosure leaves no line.
  if (existsSync(values.out)) throw new RelayUsageError(`--out ${values.out} exists: a disclosure archive is never written over a file`);
  const since = values.since === undefined ? null : parseSince(values.since);
  const location = storeOf(values.store, env);
  const key = ensureDisclosureKey(values.data);
  const store = await openRelayStore(location, values.data);
  const out = values.out;
  try {
    const made = await makeDisclosure(store, key, { address, since, now, logLines: readLogLines(values.data) }, (text) =>
      // Never over an existing file; readable by the operator only.
      writeFileSync(out, text, { flag: 'wx', mode: 0o600 }),
    );
    return (
      `caliop-relay: disclosure ${made.seq} about ${address} written to ${out}\n` +
      `  account: ${made.body.account === null ? 'none' : `enrolled ${made.body.account.enrolledAt}`}; messages held: ${made.body.messages.length}; log lines: ${made.body.logLines.length}\n` +
      `  archive sha256: ${made.archiveSha256}\n` +
      `  signed by the relay's disclosure key (Ed25519) ${key.publicKey}\n`
    );
  } finally {
    await store.close();
  }
}

export async function disclosureLogCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const values = parse(argv, { data: { type: 'string' }, store: { type: 'string' } });
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  const location = storeOf(values.store, env);
  const key = ensureDisclosureKey(values.data);
  const store = await openRelayStore(location, values.data);
  try {
    const verdict = verifyDisclosureLog(await store.disclosureLog(), key.publicKey);
    if (!verdict.ok) throw new DisclosureLogBroken(`the disclosure log does not verify at line ${verdict.seq}: ${verdict.problem}`);
    // The count and the head hash are what the operator publishes in a transparency report.
    return `caliop-relay: disclosure log verified: ${verdict.count} disclosures; head sha256 ${verdict.head}; key ${key.publicKey}\n`;
  } finally {
    await store.close();
  }
}
