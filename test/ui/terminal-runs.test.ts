// The interface in a real pseudo-terminal (tmux, 80×24) against the real relay process
// with its SMTP gateway, while two busy loops started by this test keep both cores busy
// (docs/ui.md §4, issue 16):
// (a) in English and in French: an empty stick, the ceremony (a weak passphrase refused,
//     then back to the address, which was kept), enrolment from the stick's config.json,
//     a message from another stick read with its reasons, a reply whose exposure shown
//     before sending is the one the other stick reads, the contact check with both keys'
//     words and numbers compared with the other side, settings; nothing left in the
//     scrollback. The language comes from LANG before the vault exists.
// (b) a message from outside Caliop, delivered by swaks, read with its reasons.
// (c) an attachment from outside (Python's email, swaks) saved from the reading screen
//     into a folder typed there (docs/ui.md §3.2), byte for byte.
// Every captured screen must fit 80×24 (its title on the first line) and is kept in
// test/artifacts/tmp/ui/ (ignored by git, kept by CI); test/artifacts/ui/ holds a reviewed
// run's screens. Each run has its own tmux server (-L); the test waits on the screen's
// content, never for a fixed time. Needs the build (`npx tsc -p .`).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintNumbers, fingerprintWords } from '../../src/core/fingerprint-words.js';
import { initStick, onStick, temporaryFolder, type InitResult } from '../helpers/caliop.js';
import { busyLoops, type BusyLoops } from '../helpers/load.js';
import { deliverBySwaks } from '../helpers/smtp.js';
import { keepScreen, Terminal as TmuxTerminal } from '../helpers/tmux.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

// The real `caliop` with no command: on a terminal it opens the interface (docs/cli.md §5).
const UI_ENTRY = resolve(import.meta.dirname, '../../build/src/cli/main.js');
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts/tmp/ui');
const DOMAIN = 'caliop.example';
const WAIT_MS = 240_000; // a loaded machine (two busy loops of ours, and whatever else runs)
const scratch = temporaryFolder('ui-pty');
let relay: RelayProcess;
let load: BusyLoops;
let bob: { stick: string; id: InitResult };

/** One interface in its own tmux server (-L), on an 80×24 terminal; waits return a screen that has stopped changing. */
class Terminal extends TmuxTerminal {
  constructor(name: string) {
    super(`ui-${name}`, { utf8: true, width: 80, height: 24, waitMs: WAIT_MS, stable: true });
  }
  open(stick: string, env: Record<string, string>): void {
    const vars = Object.entries({ CALIOP_UNSAFE_TEST_KDF: '1', ...env }).map(([name, value]) => `${name}=${value}`);
    // CI=true stays set as CI runs us: caliop must still draw live on a terminal.
    this.start(`env -u LC_ALL -u LC_MESSAGES ${vars.join(' ')} ${process.execPath} ${UI_ENTRY} --stick ${stick}; echo UI-EXIT=$?; read _`);
  }
}

const keep = (name: string, text: string, title: RegExp): string => keepScreen(ARTIFACTS, name, text, title);

/** The screen as kept in the artifacts: the secret replaced by a mask exactly as many columns wide
 *  (counted as keepScreen counts them), so that the kept screen is as wide as the one shown. The
 *  generated passphrase's length varies (seven words of 3 to 8 letters): a fixed label made the
 *  kept line wider than the screen whenever the passphrase was shorter than the label. */
const withoutSecret = (text: string, secret: string): string => {
  const columns = [...secret.normalize('NFC')].length;
  const label = '[passphrase removed]';
  return text.replace(secret, columns >= label.length ? label.padEnd(columns, '.') : '*'.repeat(columns));
};

const WORD = '[\\p{Ll}\\p{M}]+'; // a word of a BIP39 list: letters, and accents as combining marks (NFD)

/** What each language's screens say (src/ui/i18n/*.ts), as the test waits for it. */
const SAYS = {
  en: {
    lang: 'en_GB.UTF-8', welcome: /^Welcome/, switchKey: 'L: Français', online: /connected to a network/, name: /^Your name/, address: /^Your address/,
    addressField: 'Address: ', choice: /^Your passphrase/, strength: /Strength: /, weak: /^This passphrase is weak/, another: /Choose another passphrase\. Your name and address are kept\./,
    generated: /^Your new passphrase/, sheet: /^Your recovery sheet/, check: /^Check your copy/, checkNumber: /Type the word number (\d+)/,
    shares: /^Split the recovery phrase/, enrol: /^Connect to your relay/, enrolNames: 'The stick names this relay: ', done: /^Your keys are ready/, enrolled: 'Enrolled as ',
    inbox: /^Inbox/, empty: /No messages yet/, synced: /synced \d\d:\d\d: 1 new · outbox: 0/, why: /Why:/, exposure: /Exposure: ●●●○ End to end, unverified key \((\d+)\/100\)/,
    compose: /^New message/, overall: /This message: ●●●○ End to end, unverified key \((\d+)\/100\)/, sent: /✓ Sent\./,
    contacts: /^Contacts/, unverified: /bob@caliop\.example.*not verified/, checkScreen: /^Check bob@caliop\.example in person/, theirs: 'Their key', yours: 'Your key',
    words: 'Words: ', numbers: 'Numbers: ', fingerprint: 'Fingerprint: ', nowVerified: /bob@caliop\.example is now verified/, verified: /bob@caliop\.example.*verified in person/,
    settings: /^Settings/, language: 'Language: English', relay: 'Relay: ',
  },
  fr: {
    lang: 'fr_FR.UTF-8', welcome: /^Bienvenue/, switchKey: 'L : English', online: /relié à un réseau/, name: /^Votre nom/, address: /^Votre adresse/,
    addressField: 'Adresse : ', choice: /^Votre phrase de passe/, strength: /Solidité : /, weak: /^Cette phrase de passe est faible/, another: /Choisissez une autre phrase de passe\. Votre nom et votre adresse sont gardés\./,
    generated: /^Votre nouvelle phrase de passe/, sheet: /^Votre feuille de récupération/, check: /^Vérifiez votre copie/, checkNumber: /Tapez le mot numéro (\d+)/,
    shares: /^Partager la phrase de récupération/, enrol: /^Connexion à votre relais/, enrolNames: 'La clé USB indique ce relais : ', done: /^Vos clés sont prêtes/, enrolled: 'Inscrit comme ',
    inbox: /^Boîte de réception/, empty: /Aucun message/, synced: /relevé à \d\d:\d\d : 1 nouveau\(x\) · à envoyer : 0/, why: /Pourquoi :/, exposure: /Exposition : ●●●○ De bout en bout, clé non vérifiée \((\d+)\/100\)/,
    compose: /^Nouveau message/, overall: /Ce message : ●●●○ De bout en bout, clé non vérifiée \((\d+)\/100\)/, sent: /✓ Envoyé\./,
    contacts: /^Contacts/, unverified: /bob@caliop\.example.*non vérifié/, checkScreen: /^Vérifier bob@caliop\.example en personne/, theirs: 'Sa clé', yours: 'Votre clé',
    words: 'Mots : ', numbers: 'Nombres : ', fingerprint: 'Empreinte : ', nowVerified: /bob@caliop\.example est maintenant vérifié/, verified: /bob@caliop\.example.*vérifié en personne/,
    settings: /^Réglages/, language: 'Langue : Français', relay: 'Relais : ',
  },
} as const;

/** The words, numbers and fingerprint of one key as the contact check shows them, after its heading. */
function keyOnScreen(screen: string, heading: string, says: (typeof SAYS)['en' | 'fr']): { words: string; numbers: string; fingerprint: string } {
  const lines = screen.split('\n');
  const start = lines.findIndex((line) => line.includes(heading));
  expect(start, `"${heading}" on screen:\n${screen}`).toBeGreaterThanOrEqual(0);
  const after = (label: string) => lines.slice(start + 1).find((line) => line.trimStart().startsWith(label))!.trimStart().slice(label.length).trim();
  return { words: after(says.words).normalize('NFC'), numbers: after(says.numbers), fingerprint: after(says.fingerprint).replace(/\s+/g, '') };
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const records = join(scratch.path, 'dns.json');
  writeFileSync(records, '{}\n'); // no DNS answers: SPF, DKIM and DMARC find nothing
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records] });
  // The other side of every conversation: bob, an English stick driven by `caliop`.
  const stick = join(scratch.path, 'bob');
  mkdirSync(stick);
  const id = await initStick(stick, 'bob', `bob@${DOMAIN}`);
  const enrolled = await onStick(stick, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!]);
  expect(enrolled.status, enrolled.stderr).toBe(0);
  bob = { stick, id };
  load = busyLoops(2);
}, 300_000);

afterAll(async () => {
  load?.stop();
  await relay?.stop();
  scratch.remove();
});

const passphrases: Record<string, string> = {};
const sticks: Record<string, string> = {};

async function bobJson<T>(args: readonly string[], input?: string): Promise<T> {
  const run = await onStick(bob.stick, ['--json', ...args], input === undefined ? {} : { input });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

describe('the interface in a real terminal, under load', () => {
  for (const language of ['en', 'fr'] as const) {
    const says = SAYS[language];
    const user = language === 'en' ? 'ana' : 'zoe';
    const address = `${user}@${DOMAIN}`;
    const name = (step: string) => `${language}-${step}`;

    it(`(a) ${language}: empty stick → ceremony (weak passphrase refused, back) → mail both ways → contact check with both sides → settings`, async () => {
      const stick = join(scratch.path, user);
      mkdirSync(stick);
      // The stick image names its relay (docs/stick-layout.md §3), not a language: LANG decides.
      writeFileSync(join(stick, 'config.json'), `${JSON.stringify({ relay: { url: relay.url, pin: relay.pin } }, null, 2)}\n`);
      sticks[language] = stick;
      const term = new Terminal(language);
      try {
        term.open(stick, { LANG: says.lang });
        const welcome = keep(name('01-welcome'), await term.waitFor(says.welcome), says.welcome);
        expect(welcome).toContain(says.switchKey); // the first screen names the key that switches the language
        term.keys(says.online.test(welcome) ? 'o' : 'Enter');
        await term.waitFor(says.name);
        term.type(language === 'en' ? 'Ana Terminal' : 'Zoé Terminal');
        await term.waitFor(says.address);
        term.type(address);
        keep(name('02-passphrase-choice'), await term.waitFor(says.choice), says.choice);

        // A weak passphrase, typed twice: the ceremony refuses it until told otherwise.
        term.keys('t');
        term.type('password');
        term.type('password');
        const weak = keep(name('03-weak-passphrase'), await term.waitFor(says.weak), says.weak);
        expect(weak).not.toMatch(/Something went wrong|Un problème est survenu/);
        term.keys('n'); // choose another: back to the passphrase field
        keep(name('04-choose-another'), await term.waitFor(says.another), says.choice);
        term.keys('Escape'); // back to the choice…
        await term.waitFor(says.choice);
        term.keys('Escape'); // …and back to the address: what was typed is still there
        const back = keep(name('05-back-to-the-address'), await term.waitFor(says.address), says.address);
        expect(back).toContain(`${says.addressField}${address}`);
        term.keys('Enter');
        await term.waitFor(says.choice);
        term.keys('g');
        const generated = await term.waitFor(says.generated);
        const passphrase = new RegExp(`(${WORD}(?:-${WORD}){6})`, 'u').exec(generated.split('\n').slice(2).join('\n'))![1]!;
        passphrases[language] = passphrase;
        keep(name('06-generated-passphrase'), withoutSecret(generated, passphrase), says.generated);
        term.keys('Enter');

        const sheet = await term.waitFor(says.sheet);
        const words: string[] = [];
        for (const match of sheet.matchAll(new RegExp(`\\b(\\d{1,2})\\. (${WORD})`, 'gu'))) words[Number(match[1]) - 1] = match[2]!;
        expect(words.filter(Boolean)).toHaveLength(24);
        keep(name('07-recovery-sheet'), sheet.replace(new RegExp(`\\b(\\d{1,2})\\. ${WORD}`, 'gu'), (_whole, number: string) => `${number}. ${'•'.repeat(6)}`), says.sheet);
        term.keys('Enter');
        let previous = 0;
        for (let asked = 0; asked < 3; asked++) {
          const check = await term.waitFor(new RegExp(`${says.checkNumber.source.replace('(\\d+)', `(?!${previous}\\b)(\\d+)`)}`));
          if (asked === 0) keep(name('08-backup-check'), check, says.check);
          previous = Number(says.checkNumber.exec(check)![1]);
          term.type(words[previous - 1]!);
        }
        keep(name('09-shares-question'), await term.waitFor(says.shares), says.shares);
        term.keys('n');
        const enrol = keep(name('10-enrol'), await term.waitFor(says.enrol), says.enrol);
        expect(enrol).toContain(`${says.enrolNames}${relay.url}`);
        term.keys('Enter');
        const done = keep(name('11-done'), await term.waitFor(says.done), says.done);
        expect(done).toContain(`${says.enrolled}${address}`);
        term.keys('Enter');
        keep(name('12-empty-inbox'), await term.waitFor(says.empty), says.inbox);

        // Bob writes; the inbox fetches it; it is read with its reasons.
        const sent = await onStick(bob.stick, ['send', '--to', address, '--subject', 'Rendez-vous'], { input: 'Samedi, 10 h, sous le grand chêne.\n' });
        expect(sent.status, sent.stderr).toBe(0);
        term.keys('r');
        const inbox = keep(name('13-inbox-after-sync'), await term.waitFor(new RegExp(`${says.synced.source}[\\s\\S]*Rendez-vous`)), says.inbox);
        expect(inbox.split('\n').find((line) => line.includes('Rendez-vous'))).toMatch(/^›\* \d\d:\d\d bob@caliop\.example +●●●○ /);
        term.keys('Enter');
        const reading = keep(name('14-reading'), await term.waitFor(says.why), /^Rendez-vous/);
        const readScore = Number(says.exposure.exec(reading)![1]);
        for (let page = 0; !/grand chêne/.test(term.screen()) && page < 6; page++) {
          term.keys('Space');
          await term.waitFor(/./);
        }
        keep(name('15-reading-body'), await term.waitFor(/Samedi, 10 h, sous le grand chêne\./), /^Rendez-vous/);
        term.keys('Escape');
        await term.waitFor(says.inbox);

        // A reply: the exposure shown before sending is what bob's stick shows when it reads it.
        term.keys('n');
        await term.waitFor(says.compose);
        term.type(`bob@${DOMAIN}`);
        term.type('Re: Rendez-vous');
        term.type(language === 'en' ? 'See you there.' : 'À samedi.', false);
        const compose = keep(name('16-compose'), await term.waitFor(says.overall), says.compose);
        const shownBefore = Number(says.overall.exec(compose)![1]);
        term.keys('C-s');
        keep(name('17-sent'), await term.waitFor(says.sent), says.compose);
        term.keys('Enter');
        await term.waitFor(says.inbox);
        await bobJson(['sync']);
        const bobInbox = await bobJson<{ id: string; subject: string; from: string }[]>(['inbox']);
        const reply = bobInbox.find((entry) => entry.subject === 'Re: Rendez-vous' && entry.from.includes(address))!;
        const readByBob = await bobJson<{ body: string; exposure: { level: string; score: number } }>(['read', reply.id]);
        expect(readByBob.body).toContain(language === 'en' ? 'See you there.' : 'À samedi.');
        expect(readByBob.exposure).toMatchObject({ level: 'e2e-tofu', score: shownBefore }); // docs/exposure.md §5.2.1
        expect(readScore).toBe(shownBefore); // and bob's message, the same way, read here

        // The contact check: both keys on one screen, compared with what the other side says.
        term.keys('c');
        keep(name('18-contacts'), await term.waitFor(says.unverified), says.contacts);
        term.keys('Enter');
        const check = keep(name('19-contact-check'), await term.waitFor(new RegExp(says.yours)), says.checkScreen);
        const theirs = keyOnScreen(check, says.theirs, says);
        const yours = keyOnScreen(check, says.yours, says);
        // Bob reads his key aloud (`caliop key show`, English): the numbers are the same whatever the language.
        const bobKey = await bobJson<{ fingerprint: string; fingerprintWords: string[]; fingerprintNumbers: string[] }>(['key', 'show']);
        expect(theirs.numbers).toBe(bobKey.fingerprintNumbers.join(' '));
        const nfc = (words: readonly string[]) => words.join(' ').normalize('NFC');
        expect(theirs.words).toBe(nfc(fingerprintWords(bobKey.fingerprint, language)));
        if (language === 'en') expect(theirs.words).toBe(nfc(bobKey.fingerprintWords));
        else expect(theirs.words).not.toBe(nfc(bobKey.fingerprintWords)); // the words differ between languages…
        expect(theirs.fingerprint).toBe(bobKey.fingerprint);
        // …and the user reads theirs to bob, who checks them against the key his stick pinned for them.
        expect(yours.numbers).toBe(fingerprintNumbers(yours.fingerprint).join(' '));
        expect(yours.words).toBe(nfc(fingerprintWords(yours.fingerprint, language)));
        const bobChecks = await onStick(bob.stick, ['contacts', 'verify', address, '--fingerprint', yours.fingerprint]);
        expect(bobChecks.status, bobChecks.stderr).toBe(0);
        term.keys('y');
        keep(name('20-contact-verified'), await term.waitFor(says.nowVerified), says.contacts);
        expect(term.screen()).toMatch(says.verified);
        term.keys('Escape');
        await term.waitFor(says.inbox);

        // Settings: the relay, the enrolment, the language chosen before the vault existed, kept in it.
        term.keys('s');
        const settings = keep(name('21-settings'), await term.waitFor(says.settings), says.settings);
        expect(settings).toContain(says.language);
        expect(settings).toContain(`${says.relay}${relay.url}`);
        expect(settings).toContain(`${says.enrolled}${address}`);
        term.keys('Escape');
        await term.waitFor(says.inbox);
        term.keys('q');
        expect(await term.waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=0');
        const everything = term.screenAndScrollback();
        writeFileSync(join(ARTIFACTS, `${name('22-after-exit-with-scrollback')}.txt`), everything); // not a screen: the whole scrollback
        for (const word of [words[0]!, words[23]!]) expect(everything).not.toMatch(new RegExp(`\\d\\. ${word}\\b`, 'u'));
        expect(everything).not.toContain(passphrase);
        expect(everything).not.toContain('grand chêne'); // the message left with the alternate screen
      } finally {
        term.stop();
      }
    }, 1_800_000);
  }

  it('(b) a message from outside Caliop, delivered by swaks, is read with every exposure reason on screen', async () => {
    expect(passphrases.en, 'needs the stick of (a) en').toBeDefined();
    const message = join(scratch.path, 'outside.eml');
    writeFileSync(
      message,
      [
        'From: Gina Outside <gina@elsewhere.test>',
        `To: ana@${DOMAIN}`,
        'Subject: Plain hello from outside',
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        'Message-ID: <ui-test-1@elsewhere.test>',
        '',
        'Hello Ana, this travelled as plain text.',
        '',
      ].join('\r\n'),
    );
    const delivered = await deliverBySwaks({ port: relay.smtp!.port, from: 'gina@elsewhere.test', to: `ana@${DOMAIN}`, file: message });
    expect(delivered.output).toMatch(/<- +250 /);

    const term = new Terminal('outside');
    try {
      term.open(sticks.en!, {});
      await term.waitFor(/Open your stick/);
      term.type('not my passphrase');
      keep('b-01-wrong-passphrase', await term.waitFor(/Wrong passphrase/), /^Open your stick/);
      term.type(passphrases.en!);
      await term.waitFor(/^Inbox/);
      term.keys('r');
      const inbox = keep('b-02-inbox-after-sync', await term.waitFor(/Plain hello/), /^Inbox/);
      const row = inbox.split('\n').find((line) => line.includes('Plain hello'))!;
      expect(row).toMatch(/^›\* .* gina@elsewhere\.test /); // the whole address; the name did not fit beside it
      expect(row).toMatch(/○○○○ Readable on the network/);
      term.keys('Enter');
      const reading = keep('b-03-reading-with-reasons', await term.waitFor(/Why:/), /^Plain hello from outside/);
      expect(reading).toMatch(/Exposure: ○○○○ Readable on the network \(\d+\/100\)/);
      expect(reading).toContain('This message came from outside Caliop without encryption: the servers on its');
      // Scrolling down shows the rest of the reasons, then the body.
      let page = reading;
      for (let step = 2; !/Hello Ana/.test(page) && step < 8; step++) {
        term.keys('Space');
        page = keep(`b-0${step + 2}-reading-scrolled`, await term.waitFor(/./), /^Plain hello from outside/);
      }
      expect(page).toContain('Hello Ana, this travelled as plain text.');
      term.keys('Escape');
      await term.waitFor(/^Inbox/);
      term.keys('C-c'); // Ctrl-C leaves through the same door: alternate screen closed, exit code 130
      expect(await term.waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=130');
      expect(term.screenAndScrollback()).not.toContain('Hello Ana'); // the message left with the alternate screen
    } finally {
      term.stop();
    }
  }, 900_000);

  it('(c) an attachment from outside (Python\'s email, swaks) saved from the reading screen into a typed folder, byte for byte', async () => {
    expect(passphrases.en, 'needs the stick of (a) en').toBeDefined();
    const original = Buffer.concat([Buffer.from('%PDF-1.4\n\x00\xff\r', 'latin1'), randomBytes(4000), Buffer.from('\n%%EOF\n')]);
    writeFileSync(join(scratch.path, 'relevé.pdf'), original);
    const script = [
      'import sys, email.message, email.policy',
      'm = email.message.EmailMessage(policy=email.policy.SMTP)',
      "m['From'] = 'Gina Outside <gina@elsewhere.test>'",
      `m['To'] = 'ana@${DOMAIN}'`,
      "m['Subject'] = 'Your statement'",
      "m.set_content('The statement is attached.')",
      "m.add_attachment(open(sys.argv[1], 'rb').read(), maintype='application', subtype='pdf', filename='relevé.pdf')",
      'sys.stdout.buffer.write(m.as_bytes())',
    ].join('\n');
    const made = spawnSync('python3', ['-c', script, join(scratch.path, 'relevé.pdf')]);
    expect(made.status, made.stderr.toString()).toBe(0);
    writeFileSync(join(scratch.path, 'statement.eml'), made.stdout);
    const delivered = await deliverBySwaks({ port: relay.smtp!.port, from: 'gina@elsewhere.test', to: `ana@${DOMAIN}`, file: join(scratch.path, 'statement.eml') });
    expect(delivered.output).toMatch(/<- +250 /);
    const folder = join(scratch.path, 'downloads');
    mkdirSync(folder);

    const term = new Terminal('attachment');
    try {
      term.open(sticks.en!, {});
      await term.waitFor(/Open your stick/);
      term.type(passphrases.en!);
      await term.waitFor(/^Inbox/);
      term.keys('r');
      const inbox = await term.waitFor(/Your statement/);
      // The newest message is on top; the selection starts there.
      expect(inbox.split('\n').find((line) => line.includes('Your statement'))).toMatch(/^›/);
      term.keys('Enter');
      keep('c-01-reading-with-attachment', await term.waitFor(/S: save the attachments/), /^Your statement/);
      term.keys('s');
      keep('c-02-save-form', await term.waitFor(/Into the folder/), /^Save attachments \(1\)/);
      term.keys('Enter'); // which: empty, all of them
      term.type(folder);
      const saved = keep('c-03-saved', await term.waitFor(/Saved in/), /^Save attachments \(1\)/);
      expect(saved).toContain('relevé.pdf');
      expect(readFileSync(join(folder, 'relevé.pdf')).equals(original)).toBe(true);
      term.keys('Enter');
      await term.waitFor(/S: save the attachments/);
      term.keys('Escape');
      await term.waitFor(/^Inbox/);
      term.keys('q');
      expect(await term.waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=0');
    } finally {
      term.stop();
    }
  }, 900_000);
});
