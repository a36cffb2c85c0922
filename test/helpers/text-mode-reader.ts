// The reader of the signed-text tests (test/mime-stream-text-mode, test/charset-signatures):
// Bob, with a store, reading mail signed by the key of test/vectors/text-mode/cert.asc (the
// vectors' signer, known as an imported contact). Only the encryption to Bob is made here.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll } from 'vitest';
import type { Contact } from '../../src/core/vault-contents.js';
import { MessageStore } from '../../src/service/message-store.js';
import { encryptData } from '../../src/service/pgp.js';
import type { Reader } from './read-both-paths.js';
import { temporaryFolder } from './temp-folder.js';

export interface TextModeReader {
  readonly reader: Reader;
  /** The signer of the vectors. */
  readonly cert: openpgp.PublicKey;
  readonly contact: Contact;
  /** A message as the relay would hold it for Bob: encrypted to him, armored. */
  sealed(message: Buffer): Promise<string>;
}

export async function textModeReader(storeFolder: string): Promise<TextModeReader> {
  const cert = await openpgp.readKey({ armoredKey: readFileSync(join(import.meta.dirname, '..', 'vectors', 'text-mode', 'cert.asc')).toString() });
  const contact: Contact = { address: 'text@example.org', fingerprint: cert.getFingerprint().toUpperCase(), armoredCert: cert.armor(), verification: 'unverified', source: 'imported', addedAt: new Date().toISOString() };
  const bob = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Bob', email: 'bob@caliop.test' }], format: 'object' });
  const reader: Reader = { bobKey: bob.privateKey, store: await MessageStore.create(storeFolder, randomBytes(32), randomBytes) };
  const sealed = async (message: Buffer): Promise<string> => Buffer.from(await encryptData({ data: message, recipients: [bob.privateKey.toPublic()], armor: true })).toString();
  return { reader, cert, contact, sealed };
}

/**
 * The reader of one test file: made before its tests (its fields are there from then on),
 * its store removed after them.
 */
export function textModeReaderFor(name: string): TextModeReader {
  const scratch = temporaryFolder(name);
  const made = {} as { -readonly [K in keyof TextModeReader]: TextModeReader[K] };
  beforeAll(async () => {
    Object.assign(made, await textModeReader(join(scratch.path, 'store')));
  }, 120_000);
  afterAll(() => scratch.remove());
  return made;
}
