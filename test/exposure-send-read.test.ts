// docs/exposure.md §5.2.1: one message, sent by one stick and read by another through
// the real relay on loopback (real `caliop` processes): the exposure shown before
// sending, the sender's sent copy and the recipient's reading agree, or the difference is
// a decisive reason shown to the reader (issue 16: "82 when sent, 88 when read").
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder, type InitResult } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('send-read');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
const sticks: Record<string, string> = {};
const identities: Record<string, InitResult> = {};

interface Assessment { level: string; score: number; reasons: { code: string; decisive: boolean; text: { en: string } }[] }

async function json<T>(name: string, args: readonly string[], input?: string): Promise<T> {
  const run = await onStick(sticks[name]!, ['--json', ...args], input === undefined ? {} : { input });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function enrol(name: string): Promise<void> {
  const stick = join(scratch.path, name);
  mkdirSync(stick);
  sticks[name] = stick;
  identities[name] = await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
}

/** Alice sends one message to Bob; returns the assessment shown before sending, her sent copy's and Bob's. */
async function sendAndRead(subject: string): Promise<{ before: Assessment; sentCopy: Assessment; read: Assessment; bobId: string }> {
  const sent = await json<{ id: string; exposure: { message: Assessment } }>('alice', ['send', '--to', `bob@${DOMAIN}`, '--subject', subject], 'one message, two ends\n');
  const aliceInbox = await json<{ id: string; subject: string; direction: string; exposure: Assessment }[]>('alice', ['inbox']);
  const sentCopy = aliceInbox.find((entry) => entry.subject === subject && entry.direction === 'out')!;
  await json('bob', ['sync']);
  const bobInbox = await json<{ id: string; subject: string }[]>('bob', ['inbox']);
  const bobId = bobInbox.find((entry) => entry.subject === subject)!.id;
  const read = await json<{ exposure: Assessment }>('bob', ['read', bobId]);
  return { before: sent.exposure.message, sentCopy: sentCopy.exposure, read: read.exposure, bobId };
}

const levelAndScore = ({ level, score }: Assessment) => ({ level, score });

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0 });
  await Promise.all(['alice', 'bob'].map(enrol));
});

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

describe('one message, both ends (docs/exposure.md §5.2.1)', () => {
  it('keys trusted on first use on both sides: the same level and score before sending, in the sent copy and when read', async () => {
    const { before, sentCopy, read } = await sendAndRead('first contact');
    expect(levelAndScore(before)).toEqual({ level: 'e2e-tofu', score: 88 });
    expect(levelAndScore(sentCopy)).toEqual(levelAndScore(before));
    expect(levelAndScore(read)).toEqual(levelAndScore(before));
    // The sender's mirror facts, and the reader's.
    expect(before.reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['send-signed', 'send-headers-protected']));
    expect(read.reasons.map((reason) => reason.code)).toEqual(expect.arrayContaining(['signature-valid', 'headers-protected']));
  });

  it('only the sender compared keys in person: the reader sees less, and is shown why; comparing too makes both ends agree', async () => {
    const verified = await onStick(sticks.alice!, ['contacts', 'verify', `bob@${DOMAIN}`, '--fingerprint', identities.bob!.fingerprint]);
    expect(verified.status, verified.stderr).toBe(0);
    const { before, sentCopy, read, bobId } = await sendAndRead('after meeting');
    expect(levelAndScore(before)).toEqual({ level: 'e2e-verified', score: 100 });
    expect(levelAndScore(sentCopy)).toEqual(levelAndScore(before));
    expect(levelAndScore(read)).toEqual({ level: 'e2e-tofu', score: 88 });
    // The difference is Bob's own knowledge of Alice's key, and it is the reason that decides.
    expect(read.reasons.filter((reason) => reason.decisive).map((reason) => reason.code)).toEqual(['sender-key-tofu']);
    const shown = await onStick(sticks.bob!, ['read', bobId]);
    expect(shown.stdout).toContain(read.reasons.find((reason) => reason.code === 'sender-key-tofu')!.text.en);

    const back = await onStick(sticks.bob!, ['contacts', 'verify', `alice@${DOMAIN}`, '--fingerprint', identities.alice!.fingerprint]);
    expect(back.status, back.stderr).toBe(0);
    const again = await json<{ exposure: Assessment }>('bob', ['read', bobId]);
    expect(levelAndScore(again.exposure)).toEqual(levelAndScore(before));
  });
});
