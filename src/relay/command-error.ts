// The errors of caliop-relay's subcommands (docs/api.md §10, docs/disclosure.md §4-§5):
// each carries its hint and its exit code, from this one table; main.ts prints them.

import { openExistingRelayStore, StoreMissing, type StoreLocation } from './store/open-store.js';
import type { RelayStore } from './store/relay-store.js';

/** docs/api.md §10 and docs/disclosure.md §7: the subcommands' exit codes, never renumbered. */
export const RELAY_COMMAND_EXIT = {
  /** Usage errors (RelayUsageError). */
  usage: 2,
  /** The disclosure log does not verify with this host's key. */
  logBroken: 3,
  /** The data folder, the store, or the disclosure key is missing: nothing was created. */
  missing: 4,
  /** The relay holds nothing about the address: no archive, no log line. */
  nothingHeld: 5,
  /** The archive is too large to make in one piece. */
  tooLarge: 6,
} as const;

export class RelayCommandError extends Error {
  override readonly name = 'RelayCommandError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * docs/disclosure.md §7: a subcommand's store, which must be an existing relay store: a mistyped
 * `--data` or a missing store is exit 4 naming what is missing, and nothing is created.
 */
export async function openCommandStore(location: StoreLocation, dataDir: string): Promise<RelayStore> {
  try {
    return await openExistingRelayStore(location, dataDir);
  } catch (error) {
    if (error instanceof StoreMissing) throw new RelayCommandError(error.message, RELAY_COMMAND_EXIT.missing, error.hint);
    throw error;
  }
}
