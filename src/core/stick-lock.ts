// The stick lock's record and the judgement of a lock found on the stick (docs/store.md §10):
// pure, facts in, a decision out. The files are src/edges/stick-lock-files.ts; taking and
// waiting, src/service/stick-hold.ts.
import { isIsoDateTime, oneOf, safeIntegerFrom, strictObject, stringMatching } from './json-shape.js';

export const STICK_LOCK_FORMAT = 'caliop-stick-lock/1';
/** docs/store.md §10: `vault/caliop.lock-<16 hex>`, a random name per taking. */
export const STICK_LOCK_NAME = /^caliop\.lock-[0-9a-f]{16}$/;
/** docs/store.md §10: a record is one line of at most 1 KiB; more is not a record. */
export const STICK_LOCK_MAX_BYTES = 1024;
/** docs/store.md §10: an unreadable file seen unchanged this long is stale (a taker writes its record right after creating it). */
export const UNREADABLE_LOCK_STALE_MS = 1000;

export type StickHolderKind = 'interface' | 'command';

export interface StickLockRecord {
  readonly format: typeof STICK_LOCK_FORMAT;
  readonly holder: StickHolderKind;
  /** The command's name (`sync`, `contacts import`), for a command. */
  readonly command?: string;
  readonly pid: number;
  readonly host: string;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  readonly bootId?: string;
  /** Linux: field 22 of /proc/PID/stat (clock ticks since boot), decimal. */
  readonly startTicks?: string;
  /** ISO 8601: when it was taken. */
  readonly since: string;
}

const shortText = (maximum: number) => stringMatching(new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${maximum}}$`));
const isRecord = strictObject(
  { format: oneOf(STICK_LOCK_FORMAT), holder: oneOf('interface', 'command'), pid: safeIntegerFrom(1), host: shortText(255), since: isIsoDateTime },
  { command: shortText(64), bootId: stringMatching(/^[0-9a-f-]{1,64}$/), startTicks: stringMatching(/^[0-9]{1,20}$/) },
);

export function encodeLockRecord(record: StickLockRecord): Uint8Array {
  const bytes = new TextEncoder().encode(`${JSON.stringify(record)}\n`);
  if (bytes.length > STICK_LOCK_MAX_BYTES) throw new RangeError('stick lock record over 1 KiB');
  return bytes;
}

/** The record a lock file holds, or undefined for anything else (empty, too long, binary, cut short, another format). Never throws. */
export function decodeLockRecord(bytes: Uint8Array): StickLockRecord | undefined {
  if (bytes.length === 0 || bytes.length > STICK_LOCK_MAX_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  return isRecord(value) ? (value as StickLockRecord) : undefined;
}

/** What this computer, and the process named by a lock, say (src/edges/stick-lock-files.ts gathers them). */
export interface HostFacts {
  readonly host: string;
  readonly bootId: string | undefined;
  /** Whether a process of that pid runs here now. */
  readonly processRuns: (pid: number) => boolean;
  /** Its start time (as startTicks), where it can be read. */
  readonly processStart: (pid: number) => string | undefined;
}

export type LockVerdict =
  | { readonly live: true }
  | { readonly live: false; readonly why: 'other-host' | 'other-boot' | 'process-gone' | 'pid-reused' };

/** docs/store.md §10, "Live or stale". */
export function judgeLock(record: StickLockRecord, here: HostFacts): LockVerdict {
  if (record.host !== here.host) return { live: false, why: 'other-host' };
  if (record.bootId !== undefined && here.bootId !== undefined && record.bootId !== here.bootId) return { live: false, why: 'other-boot' };
  if (!here.processRuns(record.pid)) return { live: false, why: 'process-gone' };
  if (record.startTicks !== undefined) {
    const start = here.processStart(record.pid);
    if (start !== undefined && start !== record.startTicks) return { live: false, why: 'pid-reused' };
  }
  return { live: true };
}

/** "21:40" today, else "2026-11-30 21:40" (local time): when a holder took the stick. */
export function holderSince(record: StickLockRecord, now: Date): string {
  const since = new Date(record.since);
  if (Number.isNaN(since.getTime())) return record.since;
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(since.getHours())}:${two(since.getMinutes())}`;
  const sameDay = since.getFullYear() === now.getFullYear() && since.getMonth() === now.getMonth() && since.getDate() === now.getDate();
  return sameDay ? time : `${since.getFullYear()}-${two(since.getMonth() + 1)}-${two(since.getDate())} ${time}`;
}
