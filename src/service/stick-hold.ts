// One process at a time holds the stick (docs/store.md §10): taking the lock, waiting for
// it, naming who holds it, and releasing it when the process ends. The faces take it for
// their session (a command, the interface) before anything of the vault or the store is read.
import { decodeLockRecord, encodeLockRecord, holderSince, judgeLock, STICK_LOCK_FORMAT, UNREADABLE_LOCK_STALE_MS, type StickHolderKind, type StickLockRecord } from '../core/stick-lock.js';
import { createLockFile, ensureLockFolder, hostFacts, listLockFiles, newLockName, readLockFile, removeFolderIfEmpty, removeLockFile } from '../edges/stick-lock-files.js';
import type { Stick } from '../edges/stick-locator.js';
import { giveBackDeleteReserves, isStickFull } from '../edges/store-files.js';
import { STORE_FOLDER_PATTERN } from './message-store.js';
import { CaliopError } from '../errors.js';

/** docs/store.md §10: how long a command waits for the stick before it fails with stick_in_use. */
export const STICK_WAIT_MS = 5000;
/** docs/store.md §10: how often it looks again. */
const LOOK_AGAIN_MS = 100;

export interface HoldRequest {
  readonly holder: StickHolderKind;
  /** The command's name, for a command (`sync`, `contacts import`). */
  readonly command?: string;
  /** How long to wait for another holder to go (default STICK_WAIT_MS; the interface: 0). */
  readonly waitMs?: number;
  /** `init`, `recover`: make `vault/` when missing (removed again at release if nothing was written in it). */
  readonly makeFolder?: boolean;
  /** Told once, when it starts waiting for a live holder: who holds it, in English (the CLI says so, as gpg's "waiting for lock"). */
  readonly onWait?: (holder: string) => void;
}

interface Held {
  readonly folder: string;
  readonly name: string;
  readonly madeFolder: boolean;
}

/** The sticks this process holds, by vault folder. */
const held = new Map<string, Held>();

/** What stands in the way: a live holder's record, or a file that cannot be read yet. */
type Blocker = { readonly record: StickLockRecord } | { readonly unreadable: string };

/** What a lock file's bytes were when first seen, to call an unreadable one stale after 1 s unchanged. */
type Sightings = Map<string, { readonly bytes: string; readonly at: number }>;

/**
 * docs/store.md §10 "Live or stale": the first live lock of another process among `names`;
 * stale ones are removed as litter. `sightings` undefined: an unreadable file counts as live.
 */
function firstBlocker(folder: string, names: readonly string[], sightings: Sightings | undefined): Blocker | undefined {
  const facts = hostFacts();
  let unreadable: Blocker | undefined;
  for (const name of names) {
    const bytes = readLockFile(folder, name);
    if (bytes === undefined) continue; // released meanwhile
    const record = decodeLockRecord(bytes);
    if (record !== undefined) {
      // This very process (the program run twice in one process: the test CLI's code-cache warm-up) holds it already.
      if (record.pid === process.pid && record.host === facts.host) continue;
      if (judgeLock(record, facts).live) return { record };
      removeLockFile(folder, name);
      continue;
    }
    if (sightings === undefined) {
      unreadable ??= { unreadable: name };
      continue;
    }
    const key = Buffer.from(bytes).toString('base64');
    const seen = sightings.get(name);
    if (seen === undefined || seen.bytes !== key) sightings.set(name, { bytes: key, at: Date.now() });
    else if (Date.now() - seen.at >= UNREADABLE_LOCK_STALE_MS) {
      removeLockFile(folder, name);
      continue;
    }
    unreadable ??= { unreadable: name };
  }
  return unreadable;
}

function ownRecord(request: HoldRequest): StickLockRecord {
  const facts = hostFacts();
  const startTicks = facts.processStart(process.pid);
  return {
    format: STICK_LOCK_FORMAT,
    holder: request.holder,
    ...(request.command === undefined ? {} : { command: request.command.slice(0, 64) }),
    pid: process.pid,
    host: facts.host.slice(0, 255) || 'unnamed',
    ...(facts.bootId === undefined ? {} : { bootId: facts.bootId }),
    ...(startTicks === undefined ? {} : { startTicks }),
    since: new Date().toISOString(),
  };
}

/** docs/store.md §10: who holds it, in English (the CLI's message); the interface words it itself. */
export function holderWords(record: StickLockRecord, now = new Date()): string {
  const who = record.holder === 'interface' ? 'the Caliop interface' : `"caliop${record.command === undefined ? '' : ` ${record.command}`}"`;
  return `${who} (process ${record.pid}, since ${holderSince(record, now)})`;
}

function inUse(blocker: Blocker): CaliopError {
  const detail =
    'record' in blocker
      ? `the stick is in use by ${holderWords(blocker.record)}`
      : `the stick is in use by another caliop (its lock vault/${blocker.unreadable} is being written or cannot be read)`;
  return new CaliopError('stick_in_use', detail);
}

/**
 * The live holder of the stick other than this process, if any (the interface shows it on its
 * unlock screen). An unreadable lock file is not named here: taking the stick decides about it.
 */
export function stickHolder(stick: Stick): StickLockRecord | undefined {
  if (held.has(stick.vaultDir)) return undefined;
  const blocker = firstBlocker(stick.vaultDir, listLockFiles(stick.vaultDir), undefined);
  return blocker !== undefined && 'record' in blocker ? blocker.record : undefined;
}

/**
 * docs/store.md §10 "Taking": holds the stick for this process until it exits, waiting up to
 * `waitMs` for another holder to go; else stick_in_use naming the holder. Free when this
 * process holds it already.
 */
export function holdStick(stick: Stick, request: HoldRequest): Promise<void> {
  const folder = stick.vaultDir;
  if (held.has(folder)) return Promise.resolve();
  // Two takings at once in this process (Enter pressed twice) are one.
  let taking = pending.get(folder);
  if (taking === undefined) {
    taking = take(stick, request).finally(() => pending.delete(folder));
    pending.set(folder, taking);
  }
  return taking;
}

/** The takings under way in this process, by vault folder. */
const pending = new Map<string, Promise<void>>();

async function take(stick: Stick, request: HoldRequest): Promise<void> {
  const folder = stick.vaultDir;
  let madeFolder = false;
  const deadline = Date.now() + (request.waitMs ?? STICK_WAIT_MS);
  const sightings: Sightings = new Map();
  let told = false;
  for (;;) {
    // Look first, so that waiting writes nothing to the stick.
    let blocker = firstBlocker(folder, listLockFiles(folder), sightings);
    if (blocker === undefined) {
      // init, recover: made at each try, not once: another taker that made the folder removes it,
      // empty, when it gives the stick back (two inits on an empty stick: the second found no folder).
      if (request.makeFolder === true) madeFolder = ensureLockFolder(folder) || madeFolder;
      const name = newLockName();
      releaseAtExit(); // before the file exists: a signal from now on finds the handler that removes it
      try {
        const record = encodeLockRecord(ownRecord(request));
        try {
          createLockFile(folder, name, record);
        } catch (full) {
          // docs/store.md §6.2, §10: a full stick. The lock takes a cluster; a deletion, the way to
          // make room, must still work: the store's delete reserve is given back (the store's opening
          // writes it again as far as room allows), and the lock tried once more.
          if (!isStickFull(full) || !giveBackDeleteReserves(folder, STORE_FOLDER_PATTERN)) throw full;
          createLockFile(folder, name, record);
        }
      } catch (cause) {
        if (madeFolder) removeFolderIfEmpty(folder);
        throw new CaliopError('stick_write_failed', `the stick's lock could not be written: ${(cause as Error).message}`, { cause });
      }
      // Step 2: any other live lock now (one taken at the same instant) and this one yields.
      blocker = firstBlocker(folder, listLockFiles(folder).filter((other) => other !== name), undefined);
      if (blocker === undefined) {
        held.set(folder, { folder, name, madeFolder });
        return;
      }
      removeLockFile(folder, name);
    }
    if (Date.now() >= deadline) {
      if (madeFolder) removeFolderIfEmpty(folder);
      throw inUse(blocker);
    }
    if ('record' in blocker && !told) {
      told = true;
      request.onWait?.(holderWords(blocker.record));
    }
    // A random pause, so that two takers that yielded to each other do not meet again.
    await new Promise((resolve) => setTimeout(resolve, LOOK_AGAIN_MS / 2 + Math.random() * LOOK_AGAIN_MS));
  }
}

/** Releases every stick this process holds (its exit; a test's end). */
export function releaseSticks(): void {
  for (const { folder, name, madeFolder } of held.values()) {
    removeLockFile(folder, name);
    if (madeFolder) removeFolderIfEmpty(folder);
  }
  held.clear();
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let releasing = false;

/** docs/store.md §10: released at exit, and on SIGINT, SIGTERM, SIGHUP (then the process dies of that signal). */
function releaseAtExit(): void {
  if (releasing) return;
  releasing = true;
  process.once('exit', releaseSticks);
  for (const signal of SIGNALS) {
    const onSignal = () => {
      releaseSticks();
      for (const each of SIGNALS) process.removeListener(each, handlers[each]!);
      // Others listening (the interface) decide what the signal does; else die of it, as before.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    handlers[signal] = onSignal;
    process.on(signal, onSignal);
  }
}
const handlers: Partial<Record<(typeof SIGNALS)[number], () => void>> = {};
