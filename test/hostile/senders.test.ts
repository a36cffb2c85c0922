// Issue 12, hostile senders, through real `caliop` processes and a real relay:
// escape sequences and bidi tricks never reach the terminal, internal errors print
// one line and a hint, and sending readable mail without consent is refused by the
// service whatever face calls it.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickAt } from '../../src/edges/stick-locator.js';
import { isCaliopError } from '../../src/errors.js';
import { sendMessage } from '../../src/service/mail-send.js';
import { readCert } from '../../src/service/pgp.js';
import { relayClientFor } from '../../src/service/relay-account.js';
import { compressionBomb } from './compression-bomb.js';
import { deliverSmtp } from './smtp-client.js';
import { StickSession } from '../../src/service/stick-session.js';
import { initEnrolled, CALIOP_ENTRY, onStick, PASSPHRASE, temporaryFolder, testEnv } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const DOMAIN = 'hostile.example';
const ESC = '\u001b';
// WKD lookups go to a closed loopback port: no cert is found for outside recipients.
const NO_WKD = { urlsFor: () => ['https://127.0.0.1:9/none'], timeoutMs: 2000 };
const scratch = temporaryFolder('hostile-senders');
let relay: RelayProcess;
const sticks: Record<string, string> = {};

async function inboxJson(name: string): Promise<Array<{ id: string; subject: string; from: string }>> {
  const run = await onStick(sticks[name]!, ['--json', 'inbox']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Array<{ id: string; subject: string; from: string }>;
}

beforeAll(async () => {
  const records = join(scratch.path, 'dns.json');
  writeFileSync(records, '{}');
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records] });
  await Promise.all(['alice', 'bob'].map(async (name) => {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
    sticks[name] = stick;
  }));
}, 600_000); // a relay and two ceremonies on a machine whose two cores are shared with a load of 30

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

describe('nothing a sender writes is interpreted by the terminal', () => {
  it('terminal_escape_fake_signature: ESC[2J and a fake "Signature: good" line in subject and body stay inert in inbox and read', async () => {
    const subject = `invoice${ESC}[2J${ESC}[H\nSignature: good (verified) ####\u202Etxt.exe`;
    const body = `${ESC}[2J${ESC}[1;1HSignature: good; sender key: verified ####\r\nreal text\u2066hidden\u2069\n`;
    const sent = await onStick(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', subject], { input: body });
    expect(sent.status, sent.stderr).toBe(0);
    expect((await onStick(sticks.bob!, ['sync'])).status).toBe(0);

    const listed = await onStick(sticks.bob!, ['inbox']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).not.toMatch(/[\u001b\u009b\u202a-\u202e\u2066-\u2069\r]/u);
    expect(listed.stdout.trimEnd().split('\n')).toHaveLength(1); // the subject's newline did not make a second line
    expect(listed.stdout).toContain('invoice\uFFFD\uFFFD Signature: good (verified) ####\uFFFDtxt.exe');

    const [entry] = await inboxJson('bob');
    expect(entry!.subject).toBe(subject.replace('\n', ' ')); // --json keeps the value (the payload folds a header's newline), escaped
    const json = await onStick(sticks.bob!, ['--json', 'inbox']);
    expect(json.stdout).not.toMatch(/[\u001b\u009b\u202a-\u202e\u2066-\u2069]/u);

    const read = await onStick(sticks.bob!, ['read', entry!.id]);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).not.toMatch(/[\u001b\u009b\u202a-\u202e\u2066-\u2069\r]/u);
    const signatureLines = read.stdout.split('\n').filter((line) => line.startsWith('Signature:'));
    expect(signatureLines).toHaveLength(1); // only ours; the sender's begins with U+FFFD
    expect(signatureLines[0]).toMatch(/^Signature: good \([0-9A-F]{40}\); sender key: unverified$/);
    expect(read.stdout).toContain('\uFFFD\uFFFDSignature: good; sender key: verified ####\nreal text\uFFFDhidden\uFFFD');
  });
});

/** `caliop` on a stick with a preload from test/fixtures/hostile (what onStick does, plus `node --import`). */
function runWithPreload(preloadName: string, stick: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const preload = resolve(import.meta.dirname, '../fixtures/hostile', preloadName);
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', preload, CALIOP_ENTRY, '--stick', stick, '--passphrase-file', '@ENV:TEST_PASSPHRASE', ...args], { env: testEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => done({ status: code ?? -1, stdout, stderr }));
  });
}

describe('no stack traces for users', () => {
  const failing = (args: readonly string[]) => runWithPreload('internal-error-preload.mjs', sticks.alice!, args);

  it('an internal error is one line and the --debug hint; the stack only with --debug', async () => {
    const plain = await failing(['send', '--to', `bob@${DOMAIN}`]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toBe(
      'caliop: error: an unexpected internal error occurred: injected internal failure for the test\ncaliop: hint: run the command again with --debug and report what it prints\n',
    );
    const debug = await failing(['--debug', 'send', '--to', `bob@${DOMAIN}`]);
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/^caliop: debug: TypeError: injected internal failure/m);
    expect(debug.stderr).toMatch(/\n +at /);
  });
});

describe('fail closed', () => {
  it('sendMessage without consent refuses readable mail to the outside, whatever face calls it; nothing is queued', async () => {
    const session = await StickSession.unlock(stickAt(sticks.alice!, '--stick'), PASSPHRASE);
    const outboxBefore = session.contents.outbox.length;
    const attempt = sendMessage(session, { to: ['nocert@elsewhere.test'], subject: 's', body: 'b', now: new Date(), random: (n) => new Uint8Array(n).fill(7), wkd: NO_WKD });
    await expect(attempt).rejects.toSatisfy((error: unknown) => isCaliopError(error, 'exposed_send_refused') && /nocert@elsewhere\.test/.test((error as Error).message));
    const withTrue = sendMessage(session, { to: ['nocert@elsewhere.test'], subject: 's', body: 'b', now: new Date(), random: (n) => new Uint8Array(n).fill(7), beforeSend: () => true, wkd: NO_WKD });
    await expect(withTrue).rejects.toSatisfy((error: unknown) => isCaliopError(error, 'exposed_send_refused'));
    expect(session.contents.outbox.length).toBe(outboxBefore);
  });
});

// Each case runs a sync that inflates a bomb to its 64 MiB bound and some ten caliop processes:
// its budget is that work at load 30 (issue 16: 120 s was not enough), not a time it should take.
describe('bounded everything a sender controls (docs/limits.md)', { timeout: 600_000 }, () => {
  const GiB = 1024 ** 3;
  let bomb: string;

  beforeAll(async () => {
    const exported = await onStick(sticks.bob!, ['key', 'export']);
    bomb = await compressionBomb({ recipient: await readCert(exported.stdout), inflatedBytes: GiB });
    console.log(`compression bomb: ${bomb.length} bytes armored, ${GiB} bytes once inflated`);
  }, 600_000);

  async function syncBobMeasured(): Promise<number> {
    const rssFile = join(scratch.path, `rss-${Date.now()}`);
    const synced = await runWithPreload('max-rss-preload.mjs', sticks.bob!, ['--json', 'sync'], { CALIOP_TEST_RSS_FILE: rssFile });
    expect(synced.status, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout).received).toBe(1);
    return Number(readFileSync(rssFile, 'utf8')) / 1024;
  }

  /**
   * The sealed message in inbox, read and delete. `textFaces`: also the human-readable inbox
   * and read (the same code whatever brought the message: checked once, for the first origin).
   */
  async function sealedThenDeleted(origin: string, peakMiB: number, textFaces: boolean): Promise<void> {
    console.log(`${origin}: sync stored the bomb with a peak of ${peakMiB.toFixed(0)} MiB resident (the 1 GiB it inflates to was never held)`);
    expect(peakMiB).toBeLessThan(512);
    if (textFaces) {
      const listed = await onStick(sticks.bob!, ['inbox']);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/\[sealed: it inflates to more than 64 MiB/);
    }
    const entries = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ id: string; sealed: { reason: string } | null }>;
    const sealed = entries.filter((entry) => entry.sealed !== null);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.sealed!.reason).toBe('decompressed-too-large');
    const id = sealed[0]!.id;

    if (textFaces) {
      const read = await onStick(sticks.bob!, ['read', id]);
      expect(read.status).toBe(44);
      expect(read.stdout).toContain('(this message stays sealed: it inflates to more than 64 MiB');
      expect(read.stderr).toContain(`caliop: hint: remove it with "caliop delete ${id}"`);
      expect(read.stderr).not.toMatch(/\n +at /);
    }
    const readJson = await onStick(sticks.bob!, ['--json', 'read', id]);
    expect(readJson.status).toBe(44);
    expect(JSON.parse(readJson.stdout).sealed.reason).toBe('decompressed-too-large');

    const deleted = await onStick(sticks.bob!, ['delete', id]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(deleted.stderr).toBe(`caliop: message ${id} deleted\n`);
    const after = JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as Array<{ id: string }>;
    expect(after.map((entry) => entry.id)).not.toContain(id);
    expect((await onStick(sticks.bob!, ['read', id])).status).toBe(38);
    expect((await onStick(sticks.bob!, ['delete', id])).status).toBe(38);
  }

  it('compression_bomb_from_enrolled_user: sync stores it in bounded memory, inbox and read work, delete removes it', async () => {
    const session = await StickSession.unlock(stickAt(sticks.alice!, '--stick'), PASSPHRASE);
    const client = await relayClientFor(session);
    try {
      await client.submit({ to: [`bob@${DOMAIN}`], armoredMessage: bomb });
    } finally {
      client.close();
    }
    await sealedThenDeleted('from an enrolled user', await syncBobMeasured(), true);
  });

  it('compression_bomb_as_outside_pgp_mime: the same through the SMTP gateway', async () => {
    const message = [
      'From: Mallory <mallory@outside.test>',
      `To: bob@${DOMAIN}`,
      'Subject: ...',
      `Date: ${new Date().toUTCString()}`,
      'Message-ID: <bomb@outside.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b0mb"',
      '',
      '--b0mb',
      'Content-Type: application/pgp-encrypted',
      '',
      'Version: 1',
      '',
      '--b0mb',
      'Content-Type: application/octet-stream; name="encrypted.asc"',
      '',
      bomb.trimEnd(),
      '',
      '--b0mb--',
      '',
    ].join('\r\n');
    const reply = await deliverSmtp(relay.smtp!.port, { from: 'mallory@outside.test', to: `bob@${DOMAIN}`, message });
    expect(reply).toMatch(/^250 /);
    await sealedThenDeleted('as outside PGP/MIME', await syncBobMeasured(), false);
  });
});
