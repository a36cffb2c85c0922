// The interface in a real pseudo-terminal (tmux, 80x24) against the real relay
// process with its SMTP gateway: (a) first run from an empty stick through the
// ceremony and enrolment to an empty inbox; (b) a message from outside Caliop,
// delivered by swaks, read with its exposure reasons on screen. The screens are
// kept in test/artifacts/ui/. Needs the build (`npx tsc -p .`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder } from '../helpers/caliop.js';
import { swaks } from '../gateway/helpers.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

// The real `caliop` with no command: on a terminal it opens the interface (docs/cli.md §5).
const UI_ENTRY = resolve(import.meta.dirname, '../../build/src/cli/main.js');
// Each run writes its captured screens to test/artifacts/tmp/ui/ (ignored by git, kept
// by CI as artifacts); test/artifacts/ui/ holds the screens of a reviewed run, committed.
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts/tmp/ui');
const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('ui-pty');
const stick = join(scratch.path, 'stick');
const session = `caliop-ui-${process.pid}`;
let relay: RelayProcess;
let passphrase = '';

const SOCKET = `caliop-ui-pty-${process.pid}`;

function tmux(...args: string[]): string {
  // Its own tmux server: no other test (or person) shares its sessions.
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function screen(): string {
  return tmux('capture-pane', '-p', '-t', session);
}
function screenAndScrollback(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
}
async function waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (pattern.test(text)) {
      await new Promise((done) => setTimeout(done, 300)); // the screen settles; a person reads it
      return screen();
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
    await new Promise((done) => setTimeout(done, 150));
  }
}
function keys(...names: string[]): void {
  tmux('send-keys', '-t', session, ...names);
}
function typeText(text: string, enter = true): void {
  tmux('send-keys', '-t', session, '-l', text);
  if (enter) keys('Enter');
}
function keep(name: string, text: string): void {
  writeFileSync(join(ARTIFACTS, `${name}.txt`), text);
}
function startUi(): void {
  // CI=true stays set as CI runs us: caliop must still draw live on a terminal.
  const command = `env CALIOP_UNSAFE_TEST_KDF=1 ${process.execPath} ${UI_ENTRY} --stick ${stick}; echo UI-EXIT=$?; sleep 120`;
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', command);
}
function stopUi(): void {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone
  }
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const records = join(scratch.path, 'dns.json');
  writeFileSync(records, '{}\n'); // no DNS answers: SPF, DKIM and DMARC find nothing
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records] });
  mkdirSync(stick);
  // The stick image names its relay (docs/stick-layout.md §3): the wizard offers it.
  writeFileSync(join(stick, 'config.json'), `${JSON.stringify({ relay: { url: relay.url, pin: relay.pin } }, null, 2)}\n`);
});

afterAll(async () => {
  stopUi();
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  await relay?.stop();
  scratch.remove();
});

describe('the interface in a real terminal', () => {
  it('(a) first run: empty stick, ceremony, words checked, enrolment from config.json, empty inbox; nothing left in the scrollback', async () => {
    startUi();
    const welcome = await waitFor(/Welcome/);
    keep('a-01-welcome', welcome);
    keys(/connected to a network/.test(welcome) ? 'o' : 'Enter');
    await waitFor(/Your name/);
    typeText('Ana Terminal');
    await waitFor(/Your address/);
    typeText(`ana@${DOMAIN}`);
    keep('a-02-passphrase-choice', await waitFor(/random words/));
    keys('t');
    await waitFor(/Passphrase:/);
    typeText('password', false);
    const weak = await waitFor(/Strength: /);
    keep('a-03-passphrase-strength-weak', weak);
    expect(weak).toMatch(/Passphrase: •{8}\s/); // masked: one dot a character, never the text
    expect(weak).toMatch(/✗ Strength: [01]\/4/);
    keys('Escape');
    await waitFor(/random words/);
    keys('g');
    const generated = await waitFor(/Your new passphrase/);
    keep('a-04-generated-passphrase', generated.replace(/[a-z]+(?:-[a-z]+){6}/, '[passphrase removed from the artifact]'));
    passphrase = /([a-z]+(?:-[a-z]+){6})/.exec(generated)![1]!;
    keys('Enter');

    const sheet = await waitFor(/24 words/);
    const words: string[] = [];
    for (const match of sheet.matchAll(/\b(\d{1,2})\. ([a-z]+)/g)) words[Number(match[1]) - 1] = match[2]!;
    expect(words.filter(Boolean)).toHaveLength(24);
    keep('a-05-recovery-sheet', sheet.replace(/\b(\d{1,2})\. [a-z]+/g, (_whole, number: string) => `${number}. ${'•'.repeat(6)}`));
    keys('Enter');
    let previous = 0;
    for (let asked = 0; asked < 3; asked++) {
      const check = await waitFor(new RegExp(`Type the word number (?!${previous}\\b)(\\d+)`));
      if (asked === 0) keep('a-06-backup-check', check);
      expect(check).not.toContain(`1. ${words[0]}`);
      previous = Number(/Type the word number (\d+)/.exec(check)![1]);
      typeText(words[previous - 1]!);
    }
    keep('a-07-shares-question', await waitFor(/Split the recovery phrase/));
    keys('n');
    const enrol = await waitFor(/Connect to your relay/);
    keep('a-08-enrol', enrol);
    expect(enrol).toContain(`The stick names this relay: ${relay.url}`);
    keys('Enter');
    const done = await waitFor(/Your keys are ready/);
    keep('a-09-done', done);
    expect(done).toContain(`Enrolled as ana@${DOMAIN}`);
    keys('Enter');
    const inbox = await waitFor(/No messages yet/);
    keep('a-10-empty-inbox', inbox);
    expect(inbox).toContain('outbox: 0');
    keys('q');
    const after = await waitFor(/UI-EXIT=\d+/);
    expect(after).toContain('UI-EXIT=0');
    const everything = screenAndScrollback();
    keep('a-11-after-exit-with-scrollback', everything);
    for (const word of [words[0]!, words[23]!]) expect(everything).not.toMatch(new RegExp(`\\d\\. ${word}\\b`));
    expect(everything).not.toContain('RECOVERY');
    expect(everything).not.toContain(passphrase);
    stopUi();
  });

  it('(b) a message from outside Caliop, delivered by swaks, is read with every exposure reason on screen', async () => {
    expect(passphrase, 'needs the stick of (a)').not.toBe('');
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
    const delivered = await swaks(['--server', `127.0.0.1:${relay.smtp!.port}`, '--from', 'gina@elsewhere.test', '--helo', 'mail.elsewhere.test', '--to', `ana@${DOMAIN}`, '--data', message]);
    expect(delivered.output).toMatch(/<- +250 /);

    startUi();
    await waitFor(/Open your stick/);
    typeText('not my passphrase');
    keep('b-01-wrong-passphrase', await waitFor(/Wrong passphrase/));
    typeText(passphrase);
    await waitFor(/Inbox/);
    keys('r');
    const inbox = await waitFor(/Plain hello/);
    keep('b-02-inbox-after-sync', inbox);
    const row = inbox.split('\n').find((line) => line.includes('Plain hello'))!;
    expect(row).toMatch(/^›\* .* gina@elsewhere\.test /); // the whole address; the name did not fit beside it
    expect(row).toMatch(/○○○○ Readable on the network/);
    keys('Enter');
    const reading = await waitFor(/Why:/);
    keep('b-03-reading-with-reasons', reading);
    expect(reading.trimEnd().split('\n').length).toBeLessThanOrEqual(24);
    expect(reading).toMatch(/Exposure: ○○○○ Readable on the network \(\d+\/100\)/);
    expect(reading).toContain('This message came from outside Caliop without encryption: the servers on its');
    // Scrolling down shows the rest of the reasons, then the body.
    let page = reading;
    for (let step = 2; !/Hello Ana/.test(page) && step < 8; step++) {
      keys('Space');
      page = await waitFor(/./);
      keep(`b-0${step + 2}-reading-scrolled`, page);
    }
    expect(page).toContain('Hello Ana, this travelled as plain text.');
    keys('Escape');
    await waitFor(/Inbox/);
    keys('C-c'); // Ctrl-C leaves through the same door: alternate screen closed, exit code 130
    expect(await waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=130');
    const everything = screenAndScrollback();
    expect(everything).not.toContain('Hello Ana'); // the message left with the alternate screen
    stopUi();
  });
});
