// docs/message-payload.md §3.1: one message read by both receive paths, the whole one
// (decryptData, postal-mime) and the streamed one (receiveStreamed: its ciphertext in a
// blob, decrypted and split as a stream, attachments to blobs), and what `caliop read
// --json` records of each (signature verdict, signer, exposure, subject, text,
// attachments with their SHA-256). The streamed path is called whatever the size: the
// relay's 1 MiB threshold only chooses which one sync takes.
import { createHash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { expect } from 'vitest';
import type { MailboxPageEntry } from '../../src/api/schemas.js';
import type { Contact, StoredMessage } from '../../src/core/vault-contents.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { receiveStreamed, type StreamedArrival } from '../../src/service/mail-arrival-stream.js';
import { openStoredMessage, type OpenedMessage } from '../../src/service/mail-read.js';
import { exposureOf } from '../../src/service/mailbox-view.js';
import type { MessageStore } from '../../src/service/message-store.js';
import type { StickSession } from '../../src/service/stick-session.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Bob's side: his key, the store the streamed path writes its blobs to. */
export interface Reader {
  readonly bobKey: openpgp.PrivateKey;
  readonly store: MessageStore;
}

/** What `caliop read --json` records of a message, path aside. */
export function readFacts(opened: OpenedMessage) {
  return {
    signature: opened.sender.signature,
    signer: opened.sender.signerFingerprint,
    senderKey: opened.sender.senderKey,
    fromClaim: opened.sender.fromClaim ?? null,
    exposure: exposureOf(opened),
    subject: opened.content?.subject,
    from: opened.content?.from,
    date: opened.content?.date,
    protectedHeaders: opened.protectedHeaders,
    body: opened.body,
    attachments: opened.attachments.map(({ index, name, type, size, sha256: hash }) => ({ index, name, type, size, sha256: hash })),
    charsetGuess: opened.charsetGuess ?? null,
  };
}

export type ReadFacts = ReturnType<typeof readFacts>;

export function readerSession(reader: Reader, contacts: readonly Contact[]): StickSession {
  return {
    contents: { identity: { email: 'bob@caliop.test', fingerprint: reader.bobKey.getFingerprint().toUpperCase() }, contacts },
    identity: async () => ({ privateKey: reader.bobKey }),
    store: reader.store,
  } as unknown as StickSession;
}

export const incoming = { direction: 'in', from: 'alice@outside.test', to: ['bob@caliop.test'], subject: '', date: '2026-12-01T03:00:00.000Z', storedAt: '2026-12-01T03:00:00.000Z', unread: true } as const;

/**
 * Both paths for one encrypted message (armored, as the relay delivers it); `arrivalKeys`: the
 * keys sync holds when the message arrives (the streamed path's arrival), `readKeys` those
 * held when it is read.
 */
export async function readBothPaths(reader: Reader, armored: string, contacts: readonly Contact[], arrivalKeys: readonly openpgp.PublicKey[], readKeys: readonly openpgp.PublicKey[]): Promise<{ whole: ReadFacts; streamed: ReadFacts; arrival: StreamedArrival }> {
  const bytes = Buffer.from(armored);
  const whole = await openStoredMessage(readerSession(reader, contacts), { ...incoming, id: 'whole', relayId: 'r-whole', armoredMessage: armored } as unknown as StoredMessage, readKeys);
  const client = {
    async fetchCiphertext<T>(_id: string, _size: number, consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>): Promise<T> {
      return consume((async function* () {
        for (let offset = 0; offset < bytes.length; offset += 65536) yield bytes.subarray(offset, offset + 65536);
      })());
    },
  } as unknown as RelayClient;
  const arrival = await receiveStreamed(reader.store, client, { id: 'r-streamed', size: bytes.length } as MailboxPageEntry, reader.bobKey, arrivalKeys);
  expect(arrival.openedAtArrival, 'opened at arrival').toBeDefined();
  const message = { ...incoming, id: 'streamed', relayId: 'r-streamed', armoredMessage: '', ciphertextBlob: arrival.ciphertextBlob, attachmentBlobs: arrival.attachmentBlobs, openedAtArrival: arrival.openedAtArrival } as unknown as StoredMessage;
  const streamed = await openStoredMessage(readerSession(reader, contacts), message, readKeys);
  // The attachments saved from the blobs are the bytes whole reading decodes.
  for (const blob of arrival.attachmentBlobs ?? []) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader.store.openBlob(blob.ref)) chunks.push(chunk);
    expect(sha256(Buffer.concat(chunks)), blob.name).toBe(blob.sha256);
  }
  return { whole: readFacts(whole), streamed: readFacts(streamed), arrival };
}
