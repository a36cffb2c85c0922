// Issue 9, "What it must show": composing with an attachment and the outbox screen, in a
// real terminal (tmux, 80×24) as well as in frame tests (test/ui/attachments-outbox).
// The real `caliop` interface against the real relay process, whose smarthost is a real
// SMTP server refusing one address (550 User unknown), while two busy loops started by
// this test keep both cores busy (docs/ui.md §4). (d) ana composes to bob with a file
// attached, bob's stick saves it byte for byte; (e) zoe's (a French stick) outbox screen shows the message
// the smarthost refused, with the relay's reason; R retries it (refused again), D then O
// drops it, and `caliop outbox` agrees. Each test has its own tmux server (-L) and waits
// on the screen's content, never for a fixed time. Every captured screen must fit 80×24
// and is kept in test/artifacts/tmp/ui/. Needs the build (`npx tsc -p .`).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStick, onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { busyLoops, type BusyLoops } from '../helpers/load.js';
import { startSink, type Sink } from '../helpers/smtp.js';
import { keepScreen, Terminal as TmuxTerminal } from '../helpers/tmux.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const UI_ENTRY = resolve(import.meta.dirname, '../../build/src/cli/main.js');
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts/tmp/ui');
const DOMAIN = 'caliop.example';
const WAIT_MS = 240_000; // a loaded machine (two busy loops of ours, and whatever else runs)
const scratch = temporaryFolder('ui-pty-compose');
let relay: RelayProcess;
let sink: Sink;
let load: BusyLoops;
const sticks: Record<string, string> = {};
/** Bytes that trip naive handling: NUL, 0xFF, CR alone, a final LF; a name with spaces and an accent. */
const original = Buffer.concat([Buffer.from('plan\x00\xff\r', 'latin1'), randomBytes(6000), Buffer.from('\n')]);
const FILE_NAME = 'plan du métro.bin';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

class Terminal extends TmuxTerminal {
  constructor(name: string) {
    super(`ui-${name}`, { utf8: true, width: 80, height: 24, waitMs: WAIT_MS, stable: true });
  }
  /** The interface on `user`'s stick (in the stick's language), unlocked; the inbox on screen. */
  async open(user: 'ana' | 'zoe'): Promise<string> {
    this.start(`env -u LC_ALL -u LC_MESSAGES CALIOP_UNSAFE_TEST_KDF=1 ${process.execPath} ${UI_ENTRY} --stick ${sticks[user]}; echo UI-EXIT=$?; read _`);
    await this.waitFor(/Open your stick|Ouvrir/);
    this.type(PASSPHRASE);
    return this.waitFor(/^(Inbox|Boîte de réception)/);
  }
}

const keep = (name: string, text: string, title: RegExp): string => keepScreen(ARTIFACTS, name, text, title);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  sink = await startSink(null, (address) => address === 'nobody@elsewhere.test');
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none'] });
  for (const name of ['ana', 'bob', 'zoe']) {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    // zoe's is a French stick (docs/cli.md: init --language).
    await initStick(stick, name, `${name}@${DOMAIN}`, name === 'zoe' ? { args: ['--language', 'fr'] } : {});
    const enrolled = await onStick(stick, ['relay', 'enrol', '--server', relay.url, '--server-pin', relay.pin!]);
    expect(enrolled.status, enrolled.stderr).toBe(0);
    sticks[name] = stick;
  }
  writeFileSync(join(scratch.path, FILE_NAME), original);
  // A message the smarthost refuses for good (550 User unknown): failed in zoe's outbox (exit 43).
  const refused = await onStick(sticks.zoe!, ['send', '--allow-exposed', '--to', 'nobody@elsewhere.test', '--subject', 'Pour personne'], { input: 'x\n' });
  expect(refused.status, refused.stderr).toBe(43);
  load = busyLoops(2);
}, 300_000);

afterAll(async () => {
  load?.stop();
  await relay?.stop();
  await sink?.close();
  scratch.remove();
});

describe('compose with an attachment, and the outbox, in a real terminal under load', () => {
  it('(d) compose (en): a file attached by its path travels, and bob saves it identical', async () => {
    const term = new Terminal('compose');
    try {
      await term.open('ana');
      term.keys('n');
      keep('d-01-compose', await term.waitFor(/^New message/), /^New message/);
      term.type(`bob@${DOMAIN}`);
      term.type('The map');
      term.type('Here is the map.', false);
      term.keys('Tab'); // the files come after the message (Enter there is a new line)
      await term.waitFor(/Attach \(file paths, separated by ;\)/);
      term.type(join(scratch.path, FILE_NAME), false);
      const withFile = keep('d-02-compose-with-file', await term.waitFor(/métro\.bin/), /^New message/);
      // The label is whole; the path wraps beside it (it used to cut the label: "separated b").
      expect(withFile).toContain('Attach (file paths, separated by ;):');
      term.keys('C-s');
      keep('d-03-sent', await term.waitFor(/✓ Sent\./), /^New message|^Inbox/);
      term.keys('Escape');
      await term.waitFor(/^Inbox/);
      term.keys('q');
      expect(await term.waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=0');
    } finally {
      term.stop();
    }
    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);
    const inbox = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ id: string; subject: string }>;
    const id = inbox.find((entry) => entry.subject === 'The map')?.id;
    expect(id, JSON.stringify(inbox)).toBeDefined();
    const view = JSON.parse((await onStick(sticks.bob!, ['--json', 'read', id!])).stdout) as { body: string; attachments: Array<{ name: string; sha256: string }> };
    expect(view.body).toContain('Here is the map.');
    expect(view.attachments.map((attachment) => [attachment.name, attachment.sha256])).toEqual([[FILE_NAME, sha256(original)]]);
    const folder = join(scratch.path, 'bob-saved');
    mkdirSync(folder);
    const saved = await onStick(sticks.bob!, ['read', id!, '--save-attachments', folder]);
    expect(saved.status, saved.stderr).toBe(0);
    expect(readFileSync(join(folder, FILE_NAME)).equals(original)).toBe(true);
  }, 900_000);

  it('(e) outbox (fr): the refused message with the relay\'s reason; R retries, refused again; D then O drops it', async () => {
    const term = new Terminal('outbox');
    try {
      const inbox = await term.open('zoe');
      expect(inbox).toMatch(/à envoyer : 1 \(O\)/);
      term.keys('o');
      const list = keep('e-01-outbox-failed', await term.waitFor(/ÉCHEC/), /^À envoyer/);
      expect(list).toContain('nobody@elsewhere.test');
      expect(list).toMatch(/refusé : [\s\S]*User unknown/);
      term.keys('r');
      const again = keep('e-02-retried-refused', await term.waitFor(/le message a été refusé définitivement/), /^À envoyer/);
      expect(again).toContain('nobody@elsewhere.test');
      term.keys('Down');
      term.keys('d');
      keep('e-03-drop-question', await term.waitFor(/Abandonner le message \d+, jamais envoyé \? O : oui/), /^À envoyer/);
      term.keys('o');
      const empty = keep('e-04-dropped', await term.waitFor(/Rien à envoyer/), /^À envoyer/);
      expect(empty).toMatch(/Message \d+ abandonné/);
      term.keys('Escape');
      await term.waitFor(/à envoyer : 0 \(O\)/);
      term.keys('q');
      expect(await term.waitFor(/UI-EXIT=\d+/)).toContain('UI-EXIT=0');
    } finally {
      term.stop();
    }
    expect(JSON.parse((await onStick(sticks.zoe!, ['--json', 'outbox'])).stdout)).toEqual([]);
    expect(sink.received.some((mail) => JSON.stringify(mail).includes('nobody@elsewhere.test'))).toBe(false);
  }, 900_000);
});
