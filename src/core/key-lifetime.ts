// How long the subkeys live, and when to say so (docs/ceremony.md §6.3, §6.6). Pure:
// the clock is a parameter (`now`), so a test can stand three years ahead.

import { SUBKEY_VALIDITY_SECONDS } from './key-derivation.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** docs/ceremony.md §6.6: the reminder starts this many days before the subkeys expire. */
export const RENEWAL_REMINDER_DAYS = 90;
/** docs/ceremony.md §6.6: `caliop sync` repeats the reminder at most this often. */
export const SYNC_REMINDER_INTERVAL_DAYS = 7;

export type KeyLifetimeState = 'valid' | 'renew-soon' | 'expired';

export interface KeyLifetime {
  readonly state: KeyLifetimeState;
  /** When the subkeys stop working: the last binding's date + 1096 days. */
  readonly expiresAt: Date;
  /** Whole days left (0 on the last day, negative once expired). */
  readonly daysLeft: number;
}

/**
 * docs/ceremony.md §6.6: a renewal's binding signatures are dated at `now`, on the
 * whole second (RFC 4880 §3.5), and after the key's creation; undefined when `now`
 * is not after it. The same date always gives the same signatures (EdDSA is
 * deterministic), which is how a recovered stick reaches the published certificate.
 */
export function renewalDate(creationDate: Date, now: Date): Date | undefined {
  const second = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return second.getTime() > creationDate.getTime() ? second : undefined;
}

/** docs/ceremony.md §6.3, §6.6: the subkeys expire 1096 days after their last binding (the ceremony or the last renewal). */
export function subkeyExpiry(creationDate: Date, renewedAt: Date | undefined): Date {
  return new Date((renewedAt ?? creationDate).getTime() + SUBKEY_VALIDITY_SECONDS * 1000);
}

export function keyLifetime(creationDate: Date, renewedAt: Date | undefined, now: Date): KeyLifetime {
  const expiresAt = subkeyExpiry(creationDate, renewedAt);
  const left = expiresAt.getTime() - now.getTime();
  const daysLeft = Math.floor(left / DAY_MS);
  const state: KeyLifetimeState = left <= 0 ? 'expired' : daysLeft < RENEWAL_REMINDER_DAYS ? 'renew-soon' : 'valid';
  return { state, expiresAt, daysLeft };
}

/** docs/ceremony.md §6.6: whether `caliop sync` says so now (renew-soon or expired, and not said in the last week). */
export function syncReminderDue(lifetime: KeyLifetime, lastRemindedAt: Date | undefined, now: Date): boolean {
  if (lifetime.state === 'valid') return false;
  return lastRemindedAt === undefined || now.getTime() - lastRemindedAt.getTime() >= SYNC_REMINDER_INTERVAL_DAYS * DAY_MS;
}
