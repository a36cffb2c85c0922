// docs/ui.md §3.2: attachments saved from the reading screen into a typed folder, compose
// with a file attached, and the outbox screen (retry, drop), through the services the CLI
// uses, on real sticks enrolled with the real relay process whose smarthost is a real SMTP
// server refusing one address. Every frame fits 80×24; both languages.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { App } from '../../src/ui/App.js';
import { initStick, onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { startSink, type Sink } from '../helpers/smtp.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { DOWN, ENTER, ESC, press, type, waitForFrame, type Rendered } from './frames.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('ui-attach');
let relay: RelayProcess;
let sink: Sink;
const sticks: Record<string, string> = {};
/** Bytes that trip naive handling: NUL, 0xFF, CR alone, a final LF. */
const map = Buffer.concat([Buffer.from('carte\x00\xff\r', 'latin1'), randomBytes(3000), Buffer.from('\n')]);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function fits(frame: string): string {
  expect(frame.split('\n').length, frame).toBeLessThanOrEqual(24);
  for (const line of frame.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
  return frame;
}

async function openAna(language: 'en' | 'fr'): Promise<Rendered> {
  const app = render(<App stick={stickAt(sticks.ana!, '--stick')} language={language} onExit={() => undefined} />);
  await waitForFrame(app, /Open your stick|Ouvrir/);
  await type(app, PASSPHRASE);
  await waitForFrame(app, /Inbox|Boîte/);
  return app;
}

beforeAll(async () => {
  process.env.CALIOP_UNSAFE_TEST_KDF = '1';
  sink = await startSink(null, (address) => address === 'nobody@elsewhere.test');
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none'] });
  for (const name of ['ana', 'bob']) {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    await initStick(stick, name, `${name}@${DOMAIN}`);
    const enrolled = await onStick(stick, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!]);
    expect(enrolled.status, enrolled.stderr).toBe(0);
    sticks[name] = stick;
  }
  // Twelve attachments: more than the save screen lists by name (sent first: La carte stays the newest).
  const many = Array.from({ length: 12 }, (_, index) => join(scratch.path, `piece-${String(index + 1).padStart(2, '0')}.txt`));
  many.forEach((file, index) => writeFileSync(file, `piece ${index + 1}\n`));
  const sentMany = await onStick(sticks.bob!, ['send', '--to', `ana@${DOMAIN}`, '--subject', 'Douze pieces', '--attach', ...many], { input: 'Douze.\n' });
  expect(sentMany.status, sentMany.stderr).toBe(0);
  writeFileSync(join(scratch.path, 'carte du parc.bin'), map);
  const sent = await onStick(sticks.bob!, ['send', '--to', `ana@${DOMAIN}`, '--subject', 'La carte', '--attach', join(scratch.path, 'carte du parc.bin')], { input: 'La carte est jointe.\n' });
  expect(sent.status, sent.stderr).toBe(0);
  // A message the smarthost refuses for good (550 User unknown): failed in ana's outbox.
  const refused = await onStick(sticks.ana!, ['send', '--allow-exposed', '--to', 'nobody@elsewhere.test', '--subject', 'Pour personne'], { input: 'x\n' });
  expect(refused.status, refused.stderr).toBe(43);
}, 300_000);

afterAll(async () => {
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('attachments and the outbox in the interface', () => {
  it('reading (en): S saves all of them into the folder typed, byte for byte; an existing file is replaced only after Y', async () => {
    const app = await openAna('en');
    await press(app, 'r');
    await waitForFrame(app, /La carte/);
    await press(app, ENTER);
    const reading = fits(await waitForFrame(app, /S: save the attachments/));
    expect(reading).toContain('La carte');
    await press(app, 's');
    fits(await waitForFrame(app, /Save attachments \(1\)[\s\S]*carte du parc\.bin/));
    const folder = join(scratch.path, 'saved-en');
    mkdirSync(folder);
    await press(app, ENTER); // "which": empty, all of them
    await type(app, folder);
    const saved = fits(await waitForFrame(app, /Saved in/));
    expect(saved).toContain('carte du parc.bin');
    expect(readFileSync(join(folder, 'carte du parc.bin')).equals(map)).toBe(true);

    // Again, by its number: the file is there, so the screen asks; N keeps it, Y replaces it.
    writeFileSync(join(folder, 'carte du parc.bin'), 'mine');
    await press(app, ENTER);
    await waitForFrame(app, /S: save the attachments/);
    await press(app, 's');
    await waitForFrame(app, /Which/);
    await type(app, '1');
    await type(app, folder);
    fits(await waitForFrame(app, /Already in the folder: carte du parc\.bin\. Replace\?/));
    expect(readFileSync(join(folder, 'carte du parc.bin'), 'utf8')).toBe('mine');
    await press(app, 'y');
    await waitForFrame(app, /Saved in/);
    expect(readFileSync(join(folder, 'carte du parc.bin')).equals(map)).toBe(true);
    await press(app, ENTER);
    await press(app, ESC);
    await waitForFrame(app, /Inbox/);
    app.unmount();
  });

  it('twelve attachments: eight listed by name, a line says how many more and up to which number; the twelfth saved by its number', async () => {
    const app = await openAna('en');
    await press(app, 'r');
    await waitForFrame(app, /La carte[\s\S]*Douze pieces/);
    // The newest first: La carte, then Douze pieces.
    await press(app, DOWN);
    await press(app, ENTER);
    await waitForFrame(app, /^Douze pieces[\s\S]*S: save the attachments/);
    await press(app, 's');
    const listed = fits(await waitForFrame(app, /Save attachments \(12\)/));
    expect(listed).toContain('piece-08.txt');
    expect(listed).not.toContain('piece-09.txt');
    expect(listed).toMatch(/… and 4 more, up to 12: type a number to save one/);
    const folder = join(scratch.path, 'saved-twelfth');
    mkdirSync(folder);
    await type(app, '12');
    await type(app, folder);
    await waitForFrame(app, /Saved in/);
    expect(readFileSync(join(folder, 'piece-12.txt'), 'utf8')).toBe('piece 12\n');
    app.unmount();
  });

  it('lecture (fr) : un dossier qui n\'existe pas est une erreur en français ; puis la pièce n° 1 enregistrée', async () => {
    const app = await openAna('fr');
    await waitForFrame(app, /La carte/);
    await press(app, ENTER);
    fits(await waitForFrame(app, /S : enregistrer les pièces jointes/));
    await press(app, 's');
    await waitForFrame(app, /Enregistrer les pièces jointes \(1\)/);
    await type(app, '1');
    await type(app, join(scratch.path, 'pas-de-dossier'));
    const refused = fits(await waitForFrame(app, /impossible d’écrire dans ce dossier/));
    expect(refused).toContain('vérifiez que le dossier existe');
    const folder = join(scratch.path, 'saved-fr');
    mkdirSync(folder);
    for (let index = 0; index < 'pas-de-dossier'.length + scratch.path.length + 1; index++) await press(app, '\x7f');
    await type(app, folder);
    fits(await waitForFrame(app, /Enregistré dans/));
    expect(readFileSync(join(folder, 'carte du parc.bin')).equals(map)).toBe(true);
    app.unmount();
  });

  it('compose (en): a missing file stops the send on screen; a real one travels, and bob saves it identical', async () => {
    const app = await openAna('en');
    await press(app, 'n');
    await waitForFrame(app, /New message/);
    await type(app, `bob@${DOMAIN}`);
    await type(app, 'With a file');
    await type(app, 'Here it is.', false);
    await press(app, '\t'); // the files come after the message (Enter there is a new line)
    fits(await waitForFrame(app, /Attach \(file paths, separated by ;\)/));
    await type(app, join(scratch.path, 'no such file.bin'), false);
    await press(app, '\x13'); // Ctrl-S
    const refusedFile = fits(await waitForFrame(app, /cannot read .*no such file\.bin/));
    // The interface's hint, not the CLI's ("check the path of each --attach FILE"): docs/ui.md §7.
    expect(refusedFile).toContain('check the path and its permissions');
    expect(refusedFile).not.toContain('--attach');
    expect(sink.received).toHaveLength(0);
    for (let index = 0; index < join(scratch.path, 'no such file.bin').length; index++) await press(app, '\x7f');
    await type(app, join(scratch.path, 'carte du parc.bin'), false);
    await press(app, '\x13');
    await waitForFrame(app, /Sent\./);
    app.unmount();

    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ id: string; subject: string }>;
    const id = inbox.find((entry) => entry.subject === 'With a file')!.id;
    const view = JSON.parse((await onStick(sticks.bob!, ['--json', 'read', id])).stdout) as { body: string; attachments: Array<{ name: string; sha256: string }> };
    expect(view.body).toContain('Here it is.');
    expect(view.attachments.map((attachment) => [attachment.name, attachment.sha256])).toEqual([['carte du parc.bin', sha256(map)]]);
  });

  it('outbox (en, then fr): the failed message with the relay\'s reason; R retries, refused again; D then O drops it', async () => {
    const english = await openAna('en');
    expect(fits(await waitForFrame(english, /outbox: 1 \(O\)/))).toBeTruthy();
    await press(english, 'o');
    const list = fits(await waitForFrame(english, /Outbox[\s\S]*FAILED/));
    expect(list).toContain('nobody@elsewhere.test');
    expect(list).toMatch(/refused: [\s\S]*User unknown/);
    expect(list).toContain('R: retry now');
    english.unmount();

    const app = await openAna('fr');
    await press(app, 'o');
    fits(await waitForFrame(app, /À envoyer[\s\S]*ÉCHEC/));
    await press(app, 'r');
    const again = fits(await waitForFrame(app, /le message a été refusé définitivement/));
    expect(again).toMatch(/refusé : [\s\S]*User unknown/);
    expect(again).toContain('nobody@elsewhere.test');
    await press(app, DOWN);
    await press(app, 'd');
    fits(await waitForFrame(app, /Abandonner le message \d+, jamais envoyé \? O : oui/));
    await press(app, 'o');
    const empty = fits(await waitForFrame(app, /Rien à envoyer/));
    expect(empty).toMatch(/Message \d+ abandonné/);
    await press(app, ESC);
    await waitForFrame(app, /à envoyer : 0 \(O\)/);
    app.unmount();
    expect(JSON.parse((await onStick(sticks.ana!, ['--json', 'outbox'])).stdout)).toEqual([]);
  });
});
