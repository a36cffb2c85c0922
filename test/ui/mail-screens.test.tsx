// Inbox, reading, compose, contacts, stick and settings screens on real sticks
// enrolled with the real relay process; another stick's `caliop` sends the mail.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { StickSession } from '../../src/service/stick-session.js';
import { fingerprintNumbers, fingerprintWords } from '../../src/core/fingerprint-words.js';
import { initStick, onStick, PASSPHRASE, temporaryFolder, type InitResult } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { DOWN, ENTER, ESC, press, type, waitForFrame, type Rendered } from './frames.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('ui-mail');
let relay: RelayProcess;
const sticks: Record<string, string> = {};
const ids: Record<string, InitResult> = {};

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay') });
  for (const name of ['ana', 'bob']) {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    ids[name] = await initStick(stick, name, `${name}@${DOMAIN}`);
    const enrolled = await onStick(stick, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!]);
    expect(enrolled.status, enrolled.stderr).toBe(0);
    sticks[name] = stick;
  }
  writeFileSync(join(scratch.path, 'plan du parc.txt'), 'Entrée nord, puis à gauche.\n');
  const sent = await onStick(sticks.bob!, ['send', '--to', `ana@${DOMAIN}`, '--subject', 'Rendez-vous', '--attach', join(scratch.path, 'plan du parc.txt')], { input: 'Samedi, 10 h, sous le grand chêne.\n' });
  expect(sent.status, sent.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

async function openAna(language?: 'en' | 'fr'): Promise<Rendered> {
  const app = render(<App stick={stickAt(sticks.ana!, '--stick')} {...(language ? { language } : {})} onExit={() => undefined} />);
  await waitForFrame(app, /Open your stick|Ouvrir/);
  await type(app, PASSPHRASE);
  await waitForFrame(app, /Inbox|Boîte/);
  return app;
}

describe('mail screens', { timeout: 300_000 }, () => {
  it('inbox: sync fetches the message; it shows sender, date, exposure word and symbol, unread mark; fits 80 columns', async () => {
    const app = await openAna();
    expect(app.lastFrame()).toContain('not synced yet');
    await press(app, 'r');
    const inbox = await waitForFrame(app, /Rendez-vous/);
    expect(inbox).toMatch(/synced \d\d:\d\d: 1 new · outbox: 0/);
    const row = inbox.split('\n').find((line) => line.includes('Rendez-vous'))!;
    expect(row).toMatch(/^›\* /); // selected, unread
    expect(row).toContain(' bob@caliop.example '); // the whole address; the name "bob" did not fit beside it
    expect(row).toContain('End to end, unverified');
    expect(row).toMatch(/[●○◆◇⚠✓✗▲■□]+ \S+/); // symbol then word
    for (const line of inbox.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(inbox.split('\n').length).toBeLessThanOrEqual(24);
    app.unmount();
  });

  it('reading: the body, the exposure level and every reason in plain words; then marked read', async () => {
    const app = await openAna();
    await waitForFrame(app, /Rendez-vous/); // the page is read from the store: wait for it before choosing
    await press(app, ENTER);
    const view = await waitForFrame(app, /Why:/);
    expect(view.split('\n').length).toBeLessThanOrEqual(24);
    expect(view).toContain('From: bob <bob@caliop.example>');
    expect(view).toMatch(/Exposure: \S+ .+ \(\d+\/100\)/);
    expect(view).toContain('Why:');
    expect(view.split('\n').filter((line) => line.startsWith('- ')).length).toBeGreaterThan(0);
    expect(view).toMatch(/\((checked by your stick|seen by our relay)/);
    await press(app, ' '); // the next page: the rest of the reasons, the attachments, then the body
    const rest = await waitForFrame(app, /Samedi, 10 h, sous le grand chêne\./);
    expect(rest).toMatch(/TLSv1\.3|stick/);
    expect(rest).toMatch(/Attached:\n *1\. plan du parc\.txt \(text\/plain, 30 bytes\)/);
    await press(app, ESC);
    const inbox = await waitForFrame(app, /Inbox[\s\S]*Rendez-vous/); // the list is read after the title is drawn
    expect(inbox.split('\n').find((line) => line.includes('Rendez-vous'))).toMatch(/^›  /);
    app.unmount();
  });

  it('compose: live assessment per recipient; sending to the outside without a cert asks first; the answer No sends nothing', async () => {
    const app = await openAna();
    await press(app, 'n');
    await waitForFrame(app, /New message/);
    await type(app, `bob@${DOMAIN}, gina@elsewhere.test`, false);
    const live = await waitForFrame(app, /gina@elsewhere\.test: /);
    expect(live).toMatch(/bob@caliop\.example: \S+ /);
    expect(live).toMatch(/This message: /);
    await press(app, ENTER);
    await type(app, 'Hello', true);
    await type(app, 'Body text', false);
    await press(app, '\x13'); // Ctrl-S
    const confirm = await waitForFrame(app, /leave Caliop readable/);
    expect(confirm).toContain('gina@elsewhere.test');
    await press(app, 'n');
    const back = await waitForFrame(app, /New message|cancelled/);
    expect(back).toMatch(/cancelled|nothing was sent/);
    app.unmount();
  });

  it('compose: a message to an internal contact is sent through the relay', async () => {
    const app = await openAna();
    await press(app, 'n');
    await waitForFrame(app, /New message/);
    await type(app, `bob@${DOMAIN}`);
    await type(app, 'Reply');
    await type(app, 'See you there.', false);
    await press(app, '\x13');
    await waitForFrame(app, /Sent\./);
    app.unmount();
    // Through the relay: bob's stick fetches it, from ana, signed, with its text.
    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ id: string; from: string; subject: string; signature: string }>;
    const reply = inbox.find((entry) => entry.subject === 'Reply');
    expect(reply).toMatchObject({ signature: 'good' });
    expect(reply!.from).toContain(`ana@${DOMAIN}`);
    const read = JSON.parse((await onStick(sticks.bob!, ['--json', 'read', reply!.id])).stdout) as { body: string };
    expect(read.body).toContain('See you there.');
  });

  it('contacts: bob is known unverified; the in-person check shows the words of his fingerprint and records it', async () => {
    const app = await openAna();
    await press(app, 'c');
    const list = await waitForFrame(app, /Contacts/);
    expect(list).toMatch(/bob@caliop\.example.*not verified/);
    await press(app, ENTER);
    const check = await waitForFrame(app, /in person/);
    expect(check).toContain(fingerprintWords(ids.bob!.fingerprint, 'en').join(' '));
    // Ana's own words are there too, to read to bob; and both as numbers.
    expect(check).toContain(fingerprintWords(ids.ana!.fingerprint, 'en').join(' '));
    expect(check).toContain(fingerprintNumbers(ids.bob!.fingerprint).join(' '));
    expect(check).toContain(fingerprintNumbers(ids.ana!.fingerprint).join(' '));
    await press(app, 'y');
    await waitForFrame(app, /bob@caliop\.example is now verified/);
    expect(app.lastFrame()).toMatch(/bob@caliop\.example.*verified in person/);
    app.unmount();
  });

  it('a French stick and an English stick compare the same numbers: what bob\'s `key show` says is on ana\'s French screen', async () => {
    const shown = await onStick(sticks.bob!, ['--json', 'key', 'show']);
    expect(shown.status, shown.stderr).toBe(0);
    const bob = JSON.parse(shown.stdout) as { fingerprintWords: string[]; fingerprintWordsLanguage: string; fingerprintNumbers: string[] };
    expect(bob.fingerprintWordsLanguage).toBe('en');
    expect(bob.fingerprintWords).toEqual(fingerprintWords(ids.bob!.fingerprint, 'en'));
    const app = await openAna('fr');
    await press(app, 'c');
    await waitForFrame(app, /Contacts/);
    await press(app, ENTER);
    const check = await waitForFrame(app, /Nombres :/);
    expect(check).toContain(fingerprintWords(ids.bob!.fingerprint, 'fr').join(' '));
    expect(check).not.toContain(bob.fingerprintWords.join(' ')); // the words differ between languages…
    expect(check).toContain(bob.fingerprintNumbers.join(' ')); // …the numbers do not
    for (const line of check.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    app.unmount();
  });

  it('stick and keys: details, export of cert and revocation to the stick, and the integrity check error with its hint', async () => {
    const app = await openAna();
    await press(app, 'k');
    const details = await waitForFrame(app, /Fingerprint: [0-9A-F ]{40,}/);
    expect(details).toContain(`Words: ${fingerprintWords(ids.ana!.fingerprint, 'en').join(' ')}`);
    expect(details).toContain(`Numbers: ${fingerprintNumbers(ids.ana!.fingerprint).join(' ')}`);
    expect(details).toContain('Address: ana@caliop.example');
    expect(details).toContain('Keys made on an ONLINE computer');
    await press(app, 'e');
    expect(await waitForFrame(app, /Written on the stick: /)).toMatch(/vault\/exports\/[0-9A-F]{16}\.cert\.asc and/);
    const base = ids.ana!.fingerprint.slice(-16);
    expect(existsSync(join(sticks.ana!, 'vault', 'exports', `${base}.cert.asc`))).toBe(true);
    expect(existsSync(join(sticks.ana!, 'vault', 'exports', `${base}.revocation.asc`))).toBe(true);
    expect(readFileSync(join(sticks.ana!, 'vault', 'exports', `${base}.cert.asc`), 'utf8')).toBe(ids.ana!.cert);
    expect(readFileSync(join(sticks.ana!, 'vault', 'exports', `${base}.revocation.asc`), 'utf8')).toBe(ids.ana!.revocationCertificate);
    await press(app, 'v');
    const verify = await waitForFrame(app, /What to do:/);
    expect(verify).toContain('names no release certificate');
    app.unmount();
  });

  it('settings: the relay and the enrolment are shown; L switches to French, kept in the vault', async () => {
    const app = await openAna();
    await press(app, 's');
    const settings = await waitForFrame(app, /Settings/);
    expect(settings).toContain(`Relay: ${relay.url}`);
    expect(settings).toContain('Enrolled as ana@caliop.example');
    await press(app, 'l');
    await waitForFrame(app, /Réglages/);
    app.unmount();
    const again = render(<App stick={stickAt(sticks.ana!, '--stick')} onExit={() => undefined} />);
    await waitForFrame(again, /Open your stick/);
    await type(again, PASSPHRASE);
    await waitForFrame(again, /Boîte de réception/);
    again.unmount();
  });

  it('sync with the relay stopped: "relay unreachable" and what to do, the message waits in the outbox', async () => {
    await relay.stop();
    const app = await openAna('en');
    await press(app, 'n');
    await waitForFrame(app, /New message/);
    await type(app, `bob@${DOMAIN}`);
    await type(app, 'Offline');
    await type(app, 'Later.', false);
    await press(app, '\x13');
    await waitForFrame(app, /waits in the outbox/);
    await press(app, ENTER);
    await waitForFrame(app, /outbox: 1/);
    await press(app, 'r');
    const offline = await waitForFrame(app, /relay unreachable/);
    expect(offline).toContain('check the network');
    app.unmount();
  });
  it('contacts: a changed key is an alarm with the old and new words; an unreadable file shows message and hint', async () => {
    // carol's cert under bob's address: a different key for a known address.
    const carol = join(scratch.path, 'carol');
    mkdirSync(carol);
    const carolId = await initStick(carol, 'bob', `bob@${DOMAIN}`);
    writeFileSync(join(scratch.path, 'other-bob.asc'), carolId.cert);
    const app = await openAna('en');
    await press(app, 'c');
    await waitForFrame(app, /Contacts/);
    await press(app, 'i');
    await type(app, join(scratch.path, 'missing.asc'));
    const failed = await waitForFrame(app, /What to do:/);
    expect(failed).toContain('could not read');
    await press(app, 'i');
    await type(app, join(scratch.path, 'other-bob.asc'));
    const changed = await waitForFrame(app, /KEY CHANGED/);
    expect(changed).toContain('Changed: bob@caliop.example');
    await press(app, ENTER);
    const alarm = await waitForFrame(app, /ALARM/);
    expect(alarm).toContain(fingerprintWords(ids.bob!.fingerprint, 'en').join(' '));
    expect(alarm).toContain(fingerprintWords(carolId.fingerprint, 'en').join(' '));
    expect(alarm).toContain('A: accept without meeting');
    // Your own words too, to read to them when you meet (docs/ui.md §3), and it fits 80×24.
    expect(alarm).toContain('Your key (read it to them):');
    expect(alarm.split('\n').length).toBeLessThanOrEqual(24);
    app.unmount();

    // docs/lost-stick.md §4: a change the directory announced (as sync records it: test/cli-key-change)
    // shows its date; A takes the new key without meeting, unverified, and the alarm is gone.
    const session = await StickSession.unlock(stickAt(sticks.ana!, '--stick'), PASSPHRASE);
    await session.update((draft) => {
      draft.contacts.find((contact) => contact.address === `bob@${DOMAIN}`)!.changedCert!.announcedAt = '2029-03-04T05:06:07.000Z';
    });
    const again = await openAna('en');
    await press(again, 'c');
    await waitForFrame(again, /KEY CHANGED/);
    await press(again, ENTER);
    const announced = await waitForFrame(again, /announced a new key/);
    expect(announced).toContain('The relay announced a new key for this address on 2029-03-04');
    await press(again, 'a');
    const accepted = await waitForFrame(again, /is accepted, not verified/);
    expect(accepted).not.toContain('KEY CHANGED');
    expect(accepted).toMatch(/bob@caliop\.example.*not verified/);
    again.unmount();
    const after = await StickSession.unlock(stickAt(sticks.ana!, '--stick'), PASSPHRASE);
    expect(after.contents.contacts.find((contact) => contact.address === `bob@${DOMAIN}`)).toMatchObject({ fingerprint: carolId.fingerprint, verification: 'unverified' });
  });

});
