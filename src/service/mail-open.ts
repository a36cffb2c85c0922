// Opening what sync fetched (docs/vault-contents.md §5.2): decrypt each message and read
// its protected headers, on both cores (issue 13). The work is the same in this thread
// (a few messages, or a host without workers: the Bun executable) and in a worker
// thread (src/service/mail-open-worker.ts; in a Node single executable, the same program
// carried as an asset, SEA_OPEN_WORKER_ASSET); docs/architecture.md §Worker threads says
// what the workers are given.
import { availableParallelism } from 'node:os';
import type * as openpgp from 'openpgp';
import { overLimitReasonIn, type OverLimitReason } from '../core/message-limits.js';
import { arrivalHeaders, readMailContent, type ArrivalHeaders, type MailContent } from '../core/mail-content.js';
import { SEA_OPEN_WORKER_ASSET } from '../build-facts.js';
import { isCaliopError } from '../errors.js';
import { startWorkerPool, type WorkerPool } from '../edges/worker-pool.js';
import { decryptData, decryptWholeFast } from './pgp.js';

/** What sync learns from one message: its header fields, sealed over a limit, or unreadable (undefined). */
export type OpenedArrival = ArrivalHeaders | { readonly sealed: OverLimitReason } | undefined;

const utf8 = new TextEncoder();

/** Decrypts one message and reads its header fields; never throws (`read` reports later why it cannot be opened). */
export async function openArrival(privateKey: openpgp.PrivateKey, armoredMessage: string): Promise<OpenedArrival> {
  const opened = await openArrivalContent(privateKey, armoredMessage);
  return opened === undefined || 'sealed' in opened ? opened : arrivalHeaders(opened);
}

/** As openArrival, with the whole content (body and parts: a large message's attachments become blobs). */
export async function openArrivalContent(privateKey: openpgp.PrivateKey, armoredMessage: string): Promise<MailContent | { readonly sealed: OverLimitReason } | undefined> {
  try {
    const bytes = utf8.encode(armoredMessage);
    // Issue 13: the common shape through node:crypto; anything else, or any doubt, through openpgp.js.
    const data = (await decryptWholeFast(bytes, privateKey)) ?? (await decryptData(bytes, privateKey, [])).data;
    return await readMailContent(data);
  } catch (error) {
    if (isCaliopError(error, 'message_over_limit')) return { sealed: overLimitReasonIn(error.message) };
    return undefined; // kept as it came; `read` reports why it cannot be opened
  }
}

export interface ArrivalOpener {
  open(armoredMessage: string): Promise<OpenedArrival>;
  close(): Promise<void>;
}

/**
 * Below this many messages to open, workers are not started: loading openpgp.js in a
 * worker costs more than a few decryptions.
 */
export const WORKERS_FROM_MESSAGES = 16;

/** The worker's first message: the unlocked private key, as OpenPGP packets (memory only). */
export interface MailOpenInit {
  readonly privateKey: Uint8Array;
}

/**
 * An opener for `expected` messages: a pool of one worker per core (at most 4) when
 * there are enough of them and the worker can start, else this thread.
 */
export async function arrivalOpener(privateKey: openpgp.PrivateKey, expected: number): Promise<ArrivalOpener> {
  const inline: ArrivalOpener = { open: (armored) => openArrival(privateKey, armored), close: async () => undefined };
  const cores = availableParallelism();
  if (expected < WORKERS_FROM_MESSAGES || cores < 2) return inline;
  const packets = privateKey.write() as Uint8Array;
  let pool: WorkerPool<string, OpenedArrival> | undefined;
  try {
    const program = { file: new URL('./mail-open-worker.js', import.meta.url), seaAsset: SEA_OPEN_WORKER_ASSET };
    pool = await startWorkerPool<MailOpenInit, string, OpenedArrival>(program, Math.min(cores, 4), { privateKey: packets });
  } catch {
    pool = undefined; // a host that cannot start workers still syncs, in this thread
  } finally {
    packets.fill(0); // each worker got its own copy
  }
  if (!pool) return inline;
  const workers = pool;
  let closed = false;
  return {
    // A worker that died leaves its message to this thread; once closed, nothing is opened any more.
    open: (armored) =>
      workers.run(armored).catch((error: unknown) => {
        if (closed) throw error;
        return openArrival(privateKey, armored);
      }),
    close: () => {
      closed = true;
      return workers.close();
    },
  };
}
