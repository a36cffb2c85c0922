// docs/cli.md §6.5: certificates fetched during `send` are checked like `contacts import`
// checks (every self-signature, binding, back-signature, revocation; §6.4). Real relays
// over HTTPS on loopback, on SQLite; the tampering is done where a seized or dishonest
// server would do it: in the relay's own database, under the running relay.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../src/edges/stick-locator.js';
import { ERROR_TABLE, isCaliopError } from '../src/errors.js';
import { sendMessage } from '../src/service/mail-send.js';
import { StickSession } from '../src/service/stick-session.js';
import { initEnrolled, onStick, PASSPHRASE, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const HOME = 'caliop.example';
const ELSEWHERE = 'elsewhere.example';
const scratch = temporaryFolder('published-cert');
let home: RelayProcess;
let other: RelayProcess;
const sticks: Record<string, string> = {};

async function enrol(relay: RelayProcess, name: string, domain: string): Promise<void> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  await initEnrolled(stick, name, `${name}@${domain}`, relay);
  sticks[name] = stick;
}

/** The relay's stored cert for an address, read and written in its SQLite database. */
function storedCert(relay: RelayProcess, address: string): Uint8Array {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT cert FROM accounts WHERE address = ?').get(address) as { cert: Buffer }).cert;
  } finally {
    db.close();
  }
}
function replaceStoredCert(relay: RelayProcess, address: string, cert: Uint8Array): void {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'));
  try {
    db.pragma('busy_timeout = 30000');
    expect(db.prepare('UPDATE accounts SET cert = ? WHERE address = ?').run(Buffer.from(cert), address).changes).toBe(1);
  } finally {
    db.close();
  }
}

/** The attack: the recipient's Cv25519 subkey replaced by Mallory's, under the recipient's binding. The fingerprint does not change. */
async function substituteEncryptionSubkey(cert: Uint8Array): Promise<Uint8Array> {
  const victim = await openpgp.readKey({ binaryKey: cert as Uint8Array<ArrayBuffer> });
  const { privateKey: mallory } = await openpgp.generateKey({ userIDs: [{ email: 'mallory@evil.example' }], type: 'ecc', curve: 'ed25519Legacy', format: 'object' });
  const target = victim.subkeys.find((subkey) => subkey.getAlgorithmInfo().algorithm === 'ecdh')!;
  const malloryPublic = mallory.toPublic().subkeys.find((subkey) => subkey.getAlgorithmInfo().algorithm === 'ecdh')!;
  (target as { keyPacket: typeof malloryPublic.keyPacket }).keyPacket = malloryPublic.keyPacket;
  return victim.write() as Uint8Array;
}

/** Another attack: the user id's name rewritten under its old self-signature. */
async function rewriteUserName(cert: Uint8Array, name: string): Promise<Uint8Array> {
  const key = await openpgp.readKey({ binaryKey: cert as Uint8Array<ArrayBuffer> });
  const user = key.users[0]!;
  (user as { userID: openpgp.UserIDPacket | null }).userID = openpgp.UserIDPacket.fromObject({ name, email: user.userID!.email });
  return key.write() as Uint8Array;
}

function unlock(name: string): Promise<StickSession> {
  return StickSession.unlock(stickAt(sticks[name]!, '--stick'), PASSPHRASE);
}

beforeAll(async () => {
  home = await startRelayProcess({ domain: HOME, dataDir: join(scratch.path, 'home'), store: 'sqlite' });
  other = await startRelayProcess({ domain: ELSEWHERE, dataDir: join(scratch.path, 'other'), store: 'sqlite' });
  await Promise.all([enrol(home, 'alice', HOME), enrol(home, 'bob', HOME), enrol(other, 'dave', ELSEWHERE)]);
}, 240_000);

afterAll(async () => {
  await home?.stop();
  await other?.stop();
  scratch.remove();
});

describe('the relay directory', () => {
  it('directory_subkey_substitution and directory_userid_rewritten: refused with exit 29, nothing sent, nothing pinned; the honest cert passes', async () => {
    const bob = `bob@${HOME}`;
    const honest = storedCert(home, bob);
    const send = () => onStick(sticks.alice!, ['send', '--to', bob, '--subject', 'hello'], { input: 'the body\n' });

    // First use: a substituted encryption subkey (same fingerprint as Bob's).
    replaceStoredCert(home, bob, await substituteEncryptionSubkey(honest));
    const first = await send();
    expect(first.status, first.stderr).toBe(ERROR_TABLE.published_cert_refused.exit);
    expect(first.stderr).toMatch(/^caliop: error: the certificate the relay directory gives for bob@caliop\.example was refused: .*binding of subkey [0-9A-F]{16} does not verify.*Nothing was sent\.\ncaliop: hint: /);
    let session = await unlock('alice');
    expect(session.contents.contacts).toEqual([]);
    expect(session.contents.outbox).toEqual([]);

    // The honest cert: sent, and Bob is pinned.
    replaceStoredCert(home, bob, honest);
    const good = await send();
    expect(good.status, good.stderr).toBe(0);
    session = await unlock('alice');
    const pinned = session.contents.contacts.find((contact) => contact.address === bob)!;
    expect(pinned.source).toBe('relay-directory');

    // A known contact: a rewritten user id under the same fingerprint is refused too, and the pinned cert stays as it was.
    replaceStoredCert(home, bob, await rewriteUserName(honest, 'Bob (new address: bob@evil.example)'));
    const again = await send();
    expect(again.status, again.stderr).toBe(ERROR_TABLE.published_cert_refused.exit);
    expect(again.stderr).toMatch(/the self-signature on "Bob \(new address: bob@evil\.example\) <bob@caliop\.example>" does not verify/);
    session = await unlock('alice');
    expect(session.contents.contacts.find((contact) => contact.address === bob)).toEqual(pinned);
    replaceStoredCert(home, bob, honest);
  });
});

describe('a Web Key Directory', () => {
  it('wkd_subkey_substitution: an outside recipient\'s WKD cert that fails its checks stops the send (never "no cert, send readable"); the honest one is pinned', async () => {
    const dave = `dave@${ELSEWHERE}`;
    const ca = readFileSync(join(other.dataDir, 'dev-tls-cert.pem'), 'utf8');
    const wkd = { ca, urlsFor: ({ hash, local }: { hash: string; local: string }) => [`${other.url}/.well-known/openpgpkey/hu/${hash}?l=${local}`] };
    const honest = storedCert(other, dave);
    replaceStoredCert(other, dave, await substituteEncryptionSubkey(honest));
    const session = await unlock('alice');
    const contactsBefore = structuredClone(session.contents.contacts);
    const attempt = (beforeSend?: () => boolean) =>
      sendMessage(session, { to: [dave], subject: 's', body: 'b', now: new Date(), random: (n) => new Uint8Array(n).fill(7), allowExposed: true, wkd, ...(beforeSend ? { beforeSend } : {}) });
    const refused = await attempt().then(() => null, (error: unknown) => error);
    expect(isCaliopError(refused, 'published_cert_refused'), String(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/the Web Key Directory of its domain gives for dave@elsewhere\.example was refused: .*does not verify/);
    expect(session.contents.contacts).toEqual(contactsBefore);
    expect(session.contents.outbox).toEqual([]);

    // The honest cert passes the check and is pinned from the WKD (the send itself is cancelled at the assessment).
    replaceStoredCert(other, dave, honest);
    await expect(attempt(() => false)).rejects.toSatisfy((error: unknown) => isCaliopError(error, 'confirmation_required'));
    const pinned = session.contents.contacts.find((contact) => contact.address === dave);
    expect(pinned?.source).toBe('wkd');
  });
});
