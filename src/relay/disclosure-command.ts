// `caliop-relay disclosure --data DIR [--store URL] --address A [--since DATE] [--until DATE] --out PATH`
// and `caliop-relay disclosure-log --data DIR [--store URL]` (docs/disclosure.md §4, §5).

import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAddress } from '../api/address.js';
import { RELAY_COMMAND_EXIT, RelayCommandError } from './command-error.js';
import {
  ArchiveTooLarge,
  createDisclosureKey,
  DISCLOSURE_KEY_FILE,
  DisclosureKeyUnreadable,
  DisclosureLogBroken,
  makeDisclosure,
  NothingHeld,
  readDisclosureKey,
  checkLogBeforeAppend,
  verifyDisclosureLog,
  type DisclosureKey,
  type ArchiveOutput,
} from './disclosure.js';
import { RelayUsageError } from './options.js';
import { readLogLines } from './relay-log.js';
import { openExistingRelayStore, parseStoreLocation, StoreMissing, type StoreLocation } from './store/open-store.js';
import type { RelayStore } from './store/relay-store.js';

export const DISCLOSURE_USAGE = 'usage: caliop-relay disclosure --data DIR [--store URL] --address A [--since DATE] [--until DATE] --out PATH';
export const DISCLOSURE_LOG_USAGE = 'usage: caliop-relay disclosure-log --data DIR [--store URL]';

export { DisclosureLogBroken };

/** docs/disclosure.md §5: the hint when the log and this host's key differ. */
const SHARED_KEY_HINT = `every relay host of one store must use the same ${DISCLOSURE_KEY_FILE}: copy it from the first host's data folder (mode 0600), like the DKIM key (docs/disclosure.md §5)`;

/** The core's refusals as the command reports them (docs/disclosure.md §7: exit codes). */
function commandError(error: unknown, dataDir: string): unknown {
  if (error instanceof StoreMissing) return new RelayCommandError(error.message, RELAY_COMMAND_EXIT.missing, error.hint);
  if (error instanceof DisclosureLogBroken) {
    return new RelayCommandError(
      error.message,
      RELAY_COMMAND_EXIT.logBroken,
      error.otherKey === null ? 'the log was changed: keep it as it is, as evidence, and compare it with your last published count and head (docs/disclosure.md §5)' : SHARED_KEY_HINT,
    );
  }
  if (error instanceof NothingHeld) {
    return new RelayCommandError(error.message, RELAY_COMMAND_EXIT.nothingHeld, 'check the address, and that --data and --store name this relay\'s data folder and store; nothing was written or logged');
  }
  if (error instanceof ArchiveTooLarge) {
    return new RelayCommandError(error.message, RELAY_COMMAND_EXIT.tooLarge, 'split it in periods: --since D1 --until D2 gives the part from D1 up to D2, --since D2 the rest (docs/disclosure.md §4.3); nothing was written or logged');
  }
  if (error instanceof DisclosureKeyUnreadable) {
    return new RelayCommandError(error.message, RELAY_COMMAND_EXIT.missing, `restore ${join(dataDir, DISCLOSURE_KEY_FILE)} from a backup or from another relay host: a new key would not verify the log`);
  }
  return error;
}

async function withExistingStore<T>(dataDir: string, location: StoreLocation, work: (store: RelayStore) => Promise<T>): Promise<T> {
  let store: RelayStore;
  try {
    store = await openExistingRelayStore(location, dataDir);
  } catch (error) {
    throw commandError(error, dataDir);
  }
  try {
    return await work(store);
  } catch (error) {
    throw commandError(error, dataDir);
  } finally {
    await store.close();
  }
}

/** The archive file: made exclusively (mode 0600) before the log line, written after it. */
function archiveFile(path: string): ArchiveOutput {
  let fd: number | null = null;
  return {
    open() {
      try {
        fd = openSync(path, 'wx', 0o600);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new RelayUsageError(`--out ${path} exists: a disclosure archive is never written over a file`);
        throw new RelayCommandError(`cannot create --out ${path}: ${code ?? (error as Error).message}`, RELAY_COMMAND_EXIT.missing, 'give --out a path in a folder that exists and you may write to; nothing was logged');
      }
    },
    write(text) {
      const bytes = Buffer.from(text, 'utf8');
      const file = fd as number;
      try {
        for (let written = 0; written < bytes.length; ) written += writeSync(file, bytes, written, bytes.length - written);
      } finally {
        closeSync(file);
      }
    },
    abandon() {
      if (fd !== null) closeSync(fd);
      rmSync(path, { force: true });
    },
  };
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

/**
 * DATE: YYYY-MM-DD (midnight UTC) or an ISO 8601 time with its zone, a real one (2026-02-30
 * does not roll over into March) and not after `now` (docs/disclosure.md §4).
 */
export function parseSince(text: string, now: Date, flag: 'since' | 'until' = 'since'): string {
  const refuse = (why: string) => new RelayUsageError(`--${flag} ${JSON.stringify(text)} ${why}`);
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00.000Z` : text;
  const parts = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/.exec(day);
  if (parts === null) throw refuse('must be YYYY-MM-DD or an ISO 8601 time with its zone');
  const [year, month, date, hour, minute, second] = parts.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  // Date rolls an impossible day or hour over: the calendar fields must come back as given.
  const asUtc = new Date(Date.UTC(year, month - 1, date, hour, minute, second));
  const real =
    asUtc.getUTCFullYear() === year && asUtc.getUTCMonth() === month - 1 && asUtc.getUTCDate() === date && asUtc.getUTCHours() === hour && asUtc.getUTCMinutes() === minute && asUtc.getUTCSeconds() === second;
  const zoneOk = parts[7] === 'Z' || (Number(parts[8]) <= 23 && Number(parts[9]) <= 59);
  const time = new Date(day);
  if (!real || !zoneOk || Number.isNaN(time.getTime())) throw refuse('is not a real date and time');
  // --until may name tomorrow (today's part whole); --since in the future would hold nothing.
  if (flag === 'since' && time.getTime() > now.getTime()) throw refuse(`is in the future (now is ${now.toISOString()})`);
  return time.toISOString();
}

export async function disclosureCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now: Date): Promise<string> {
  const values = parse(argv, { data: { type: 'string' }, store: { type: 'string' }, address: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' } });
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  if (!values.address) throw new RelayUsageError('--address A is required');
  const address = parseAddress(values.address)?.address;
  if (address === undefined) throw new RelayUsageError(`--address ${JSON.stringify(values.address)} is not a mail address`);
  if (!values.out) throw new RelayUsageError('--out PATH is required');
  // Checked before the log line is written: a refused disclosure leaves no line.
  if (existsSync(values.out)) throw new RelayUsageError(`--out ${values.out} exists: a disclosure archive is never written over a file`);
  const since = values.since === undefined ? null : parseSince(values.since, now);
  const until = values.until === undefined ? null : parseSince(values.until, now, 'until');
  if (since !== null && until !== null && until <= since) throw new RelayUsageError(`--until ${values.until} is not after --since ${values.since}: the period would be empty`);
  const location = storeOf(values.store, env);
  const dataDir = values.data;
  const out = values.out;
  return withExistingStore(dataDir, location, async (store) => {
    // docs/disclosure.md §5: this host's key, made only for the first disclosure of the deployment.
    const keys = { existing: readDisclosureKey(dataDir), create: () => createDisclosureKey(dataDir) };
    const made = await makeDisclosure(store, keys, { address, since, until, now, logLines: readLogLines(dataDir) }, archiveFile(out));
    return (
      `caliop-relay: disclosure ${made.seq} about ${address} written to ${out}\n` +
      (since === null && until === null ? '' : `  period: ${since === null ? 'from the start' : `from ${since}`} ${until === null ? 'to now' : `up to ${until} (excluded)`}\n`) +
      `  account: ${made.body.account === null ? 'none' : `enrolled ${made.body.account.enrolledAt}`}; messages held: ${made.body.messages.length}; log lines: ${made.body.logLines.length}\n` +
      `  archive sha256: ${made.archiveSha256}\n` +
      `  signed by the relay's disclosure key (Ed25519) ${made.key.publicKey}\n`
    );
  });
}

export async function disclosureLogCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const values = parse(argv, { data: { type: 'string' }, store: { type: 'string' } });
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  const location = storeOf(values.store, env);
  const dataDir = values.data;
  return withExistingStore(dataDir, location, async (store) => {
    const rows = await store.disclosureLog();
    // docs/disclosure.md §5: never makes a key; the log is verified with this host's.
    const key = readDisclosureKey(dataDir);
    if (key === null && rows.length === 0) {
      throw new RelayCommandError(
        `no disclosure key: ${join(dataDir, DISCLOSURE_KEY_FILE)} does not exist, and the disclosure log is empty`,
        RELAY_COMMAND_EXIT.missing,
        `the relay's first disclosure makes the key; on another relay host, copy ${DISCLOSURE_KEY_FILE} from the first host's data folder`,
      );
    }
    checkLogBeforeAppend(rows, key?.publicKey ?? null);
    const verdict = verifyDisclosureLog(rows, (key as DisclosureKey).publicKey);
    if (!verdict.ok) throw new DisclosureLogBroken(`the disclosure log does not verify at line ${verdict.seq}: ${verdict.problem}`);
    // The count and the head hash are what the operator publishes in a transparency report.
    return `caliop-relay: disclosure log verified: ${verdict.count} disclosures; head sha256 ${verdict.head}; key ${(key as DisclosureKey).publicKey}\n`;
  });
}
