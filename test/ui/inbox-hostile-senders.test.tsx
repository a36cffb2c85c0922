// The interface's inbox and reading screen with two hostile messages beside a plain one
// (docs/limits.md §2.7, docs/exposure.md §4.1.1): a message of 51 nested multiparts stored
// before that limit (the inbox showed "messages 1–0 of 3" and an error box), and an unsigned
// PGP/MIME message whose inner From names a contact while the outer From is Mallory's (the
// inbox and reading screen showed it as the contact). Frames in 80×24; then the CLI on the same stick.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { StickSession } from '../../src/service/stick-session.js';
import { App } from '../../src/ui/App.js';
import { initStick, onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { ENTER, type, waitForFrame } from './frames.js';

const scratch = temporaryFolder('ui-inbox-hostile');
let stick: string;

function nested(levels: number): string {
  let open = '';
  let close = '';
  for (let level = 0; level < levels; level += 1) {
    open += `--b${level}\r\n${level + 1 < levels ? `Content-Type: multipart/mixed; boundary="b${level + 1}"` : 'Content-Type: text/plain'}\r\n\r\n`;
    close = `\r\n--b${level}--\r\n${close}`;
  }
  return `From: deep@elsewhere.test\r\nSubject: Deep nesting\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n${open}x${close}`;
}

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  stick = join(scratch.path, 'ana');
  mkdirSync(stick);
  const ana = await initStick(stick, 'ana', 'ana@caliop.example');
  const alice = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Alice Test', email: 'alice@caliop.test' }], format: 'object' });
  const imported = await onStick(stick, ['contacts', 'import'], { input: alice.publicKey.armor() });
  expect(imported.status, imported.stderr).toBe(0);
  const anaKey = await openpgp.readKey({ armoredKey: ana.cert });
  const sealed = async (text: string) => (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: Buffer.from(text) }), encryptionKeys: anaKey })) as string;
  const facts = {
    route: 'smtp-inbound', receivedAt: '2026-12-01T10:00:00Z', peer: { host: 'mx.elsewhere.test', ip: '192.0.2.25' },
    hops: [{ from: 'mx.elsewhere.test', by: 'relay.caliop.example', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verifiedByRelay: true }],
    auth: { dkim: [], spf: { domain: 'elsewhere.test', result: 'pass' }, dmarc: { domain: 'elsewhere.test', result: 'pass' } },
    relayHeldPlaintext: false, arrivedEncrypted: true,
    outerHeaders: { subject: '...', from: 'Mallory <mallory@elsewhere.test>', to: ['ana@caliop.example'], date: null, messageId: null },
  };
  const session = await StickSession.unlock(stickAt(stick, '--stick'), PASSPHRASE);
  const base = { id: '', direction: 'in' as const, to: ['ana@caliop.example'], unread: true };
  await session.store.put([
    { message: { ...base, from: 'ana@caliop.example', subject: 'Hello', date: '2026-01-01T10:01:00.000Z', storedAt: '2026-01-01T10:01:00.000Z', armoredMessage: await sealed('Subject: Hello\r\n\r\nhello\r\n') } },
    { message: { ...base, from: 'deep@elsewhere.test', subject: 'Deep nesting', date: '2026-01-01T10:02:00.000Z', storedAt: '2026-01-01T10:02:00.000Z', armoredMessage: await sealed(nested(51)) } },
    {
      message: {
        ...base, from: 'Alice Test <alice@caliop.test>', subject: 'Pay this', date: '2026-01-01T10:03:00.000Z', storedAt: '2026-01-01T10:03:00.000Z', relayFacts: facts,
        armoredMessage: await sealed('Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nFrom: Alice Test <alice@caliop.test>\r\nSubject: Pay this\r\n\r\nPlease pay.\r\n'),
      },
    },
  ]);
}, 300_000);

afterAll(() => scratch.remove());

describe('the inbox with hostile messages', { timeout: 300_000 }, () => {
  it('every message listed (the deep one sealed), the unproven sender marked; the reading screen says not proven', async () => {
    const app = render(<App stick={stickAt(stick, '--stick')} language="en" onExit={() => undefined} />);
    await waitForFrame(app, /Open your stick|Ouvrir/);
    await type(app, PASSPHRASE);
    const frame = await waitForFrame(app, /Pay this/);
    for (const line of frame.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(frame).not.toMatch(/unexpected|internal error|Maximum MIME/);
    expect(frame).toContain('Deep nesting');
    expect(frame).toContain('Hello');
    const pay = frame.split('\n').find((line) => line.includes('Pay this'))!;
    expect(pay).toMatch(/ \? mal…@elsewhere\.test /); // the 21 columns: the domain kept whole
    expect(pay).not.toContain('alice');
    app.stdin.write(ENTER);
    const reading = await waitForFrame(app, /not proven/);
    expect(reading.replace(/\s+/g, ' ')).toContain('Mallory <mallory@elsewhere.test> (not proven: Alice Test <alice@caliop.test>)');
    app.unmount();
  });

  it('the CLI: inbox and inbox --json list all three (exit 0); read of the deep one says why it stays sealed (44), of the other "not proven"', async () => {
    const listed = await onStick(stick, ['inbox']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`[sealed: its MIME parts are nested more than 50 levels deep] Deep nesting`);
    expect(listed.stdout.split('\n').find((line) => line.includes('Pay this'))).toMatch(/ \? mallory@elsewhere\.test /);
    const json = await onStick(stick, ['--json', 'inbox']);
    expect(json.status, json.stderr).toBe(0);
    const entries = JSON.parse(json.stdout) as Array<{ id: string; subject: string; from: string; senderKey: string; sealed: { reason: string } | null }>;
    expect(entries.map((entry) => entry.subject)).toEqual(['Pay this', 'Deep nesting', 'Hello']);
    const pay = entries[0]!;
    expect([pay.from, pay.senderKey]).toEqual(['Mallory <mallory@elsewhere.test> (not proven: Alice Test <alice@caliop.test>)', 'unsigned']);
    const deep = await onStick(stick, ['read', entries[1]!.id]);
    expect(deep.status).toBe(44);
    expect(deep.stdout).toContain('(this message stays sealed: its MIME parts are nested more than 50 levels deep)');
    expect(deep.stderr).not.toMatch(/internal error|    at /);
    const read = await onStick(stick, ['read', pay.id]);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toContain('From:      Mallory <mallory@elsewhere.test> (not proven: Alice Test <alice@caliop.test>)');
    expect(read.stdout).toContain('sender key: unsigned');
  });
});
