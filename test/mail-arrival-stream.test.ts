// docs/store.md §5.2 step 1 (issue 9): a large message's download is read once. Each piece
// goes to the ciphertext blob and to the decryption; the blob is not read back during the
// sync. A download cut short keeps nothing; a message whose decryption stops early (damaged
// armor) is still kept whole, as it came, and shown as undecryptable.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxPageEntry } from '../src/api/schemas.js';
import type { RelayClient } from '../src/edges/relay-client.js';
import { receiveStreamed } from '../src/service/mail-arrival-stream.js';
import { MessageStore } from '../src/service/message-store.js';
import { temporaryFolder } from './helpers/temp-folder.js';

const scratch = temporaryFolder('mail-arrival-stream');
const attachment = randomBytes(600 * 1024);
let bobKey: openpgp.PrivateKey;
let armored: Buffer;
let store: MessageStore;
let folder: string;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A relay client whose download gives `bytes` in 16 KiB pieces, or fails after `cutAt` bytes. */
function relayGiving(bytes: Uint8Array, cutAt?: number): RelayClient {
  return {
    async fetchCiphertext<T>(_id: string, _size: number, consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>): Promise<T> {
      return consume(
        (async function* () {
          for (let offset = 0; offset < bytes.length; offset += 16384) {
            if (cutAt !== undefined && offset >= cutAt) throw new Error('the download was cut');
            yield bytes.subarray(offset, offset + 16384);
          }
        })(),
      );
    },
  } as unknown as RelayClient;
}

const objects = () => readdirSync(join(folder, 'objects'), { recursive: true }).filter((name) => /[0-9a-f]{32}$/.test(String(name)));

async function blobBytes(ref: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.openBlob(ref)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  bobKey = bob.privateKey;
  const mime = [
    'From: ana@caliop.test',
    'To: bob@caliop.test',
    'Subject: the report',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'the text',
    '--b1',
    'Content-Type: application/octet-stream; name="report.bin"',
    'Content-Disposition: attachment; filename="report.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
    '--b1--',
    '',
  ].join('\r\n');
  const message = await openpgp.createMessage({ binary: Buffer.from(mime, 'latin1') });
  armored = Buffer.from((await openpgp.encrypt({ message, encryptionKeys: bob.publicKey })) as string, 'latin1');
  folder = join(scratch.path, 'store');
  store = await MessageStore.create(folder, randomBytes(32), randomBytes);
}, 120_000);

afterAll(() => scratch.remove());

describe('a large message received as a stream: the download read once (docs/store.md §5.2)', { timeout: 120_000 }, () => {
  it('keeps the ciphertext as it came and the attachment, without reading the blob back', async () => {
    const before = { ...store.io };
    const arrival = await receiveStreamed(store, relayGiving(armored), { id: 'r1', size: armored.length } as MailboxPageEntry, bobKey, []);
    // Nothing of the stick was read: the decryption took the pieces on their way to the blob.
    expect(store.io.bytesRead - before.bytesRead).toBe(0);
    expect(arrival.ciphertextBlob.size).toBe(armored.length);
    expect(sha256(await blobBytes(arrival.ciphertextBlob.ref))).toBe(sha256(armored));
    expect(arrival.attachmentBlobs?.map((blob) => [blob.name, blob.size, blob.sha256])).toEqual([['report.bin', attachment.length, sha256(attachment)]]);
    expect(sha256(await blobBytes(arrival.attachmentBlobs![0]!.ref))).toBe(sha256(attachment));
    await store.discardBlobs([arrival.ciphertextBlob.ref, ...arrival.attachmentBlobs!.map((blob) => blob.ref)]);
  });

  it('a download cut short keeps nothing: the error is the download\'s, no blob is left', async () => {
    const before = objects();
    await expect(receiveStreamed(store, relayGiving(armored, armored.length / 2), { id: 'r2', size: armored.length } as MailboxPageEntry, bobKey, [])).rejects.toThrow('the download was cut');
    expect(objects()).toEqual(before);
  });

  it('damaged armor stops the decryption early: the rest still goes into the blob, the message kept whole and unopened', async () => {
    const damaged = Buffer.from(armored);
    // A character outside the base64 alphabet a quarter of the way in (on a data line).
    let at = Math.floor(damaged.length / 4);
    while (damaged[at] === 0x0a) at += 1;
    damaged[at] = 0x2a;
    const arrival = await receiveStreamed(store, relayGiving(damaged), { id: 'r3', size: damaged.length } as MailboxPageEntry, bobKey, []);
    expect(arrival.openedAtArrival).toEqual({ failed: true });
    expect(arrival.attachmentBlobs).toBeUndefined();
    expect(sha256(await blobBytes(arrival.ciphertextBlob.ref))).toBe(sha256(damaged));
  });
});
