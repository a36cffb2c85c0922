// The SMTP gateway over real sessions (docs/fuzzing.md, "not fuzzed yet": smtp-server's own
// line reader, bare CR and LF, endless lines, many RCPT; a whole arrival with the store).
// A real caliop-relay with its gateway on loopback, a stick enrolled at it, and raw sockets
// that send what no MTA would: SMTP smuggling's end-of-data look-alikes (bare LF or CR around
// the dot), a command line of megabytes, 1,000 RCPT, NUL bytes, and seeded mutations of a whole
// transcript sent in one write. After each, the relay still greets a new connection; at the
// end the stick syncs everything that was accepted and every message reads (or stays sealed with
// its reason): whole arrivals, store included. CALIOP_TEST_SEED=n for other mutations.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../scripts/fuzz/prng.js';
import { stickAt } from '../../src/edges/stick-locator.js';
import { isCaliopError } from '../../src/errors.js';
import { readOne, type MessageView } from '../../src/service/mailbox-view.js';
import { StickSession } from '../../src/service/stick-session.js';
import { beginStickUnlock } from '../../src/service/vault-unlock.js';
import { initEnrolled, onStick, PASSPHRASE, temporaryFolder } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { openSmtp } from './smtp-client.js';

const SEED = Number(process.env.CALIOP_TEST_SEED ?? 20_261_202);
const DOMAIN = 'example.test';
const BOB = `bob@${DOMAIN}`;
const scratch = temporaryFolder('gateway-smtp-fuzz');
let relay: RelayProcess;
let stick: string;
let port: number;

beforeAll(async () => {
  const records = join(scratch.path, 'dns.json');
  writeFileSync(records, '{}');
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay'), extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records, '--smtp-connections-per-ip-per-minute', '100000'] });
  port = relay.smtp!.port;
  stick = join(scratch.path, 'bob');
  mkdirSync(stick);
  await initEnrolled(stick, 'Bob', BOB, relay);
}, 300_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

/**
 * Sends `bytes` in one write on a new connection, after the greeting, and collects every reply until the server
 * closes it (each session here ends in QUIT, or the server ends it). A session the server
 * never closes within two minutes (a hang, far beyond a loaded machine's pace) fails.
 * Returns the final reply codes in order (the last line of a multi-line reply).
 */
function sendRaw(bytes: Buffer): Promise<{ codes: string[]; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const hang = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway neither answered QUIT nor closed in 120 s; it said: ${text.slice(-500)}`));
    }, 120_000);
    const finish = () => {
      clearTimeout(hang);
      resolve({ codes: [...text.matchAll(/^(\d{3}) /gm)].map((m) => m[1]!), text });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', finish);
    // The server may close while our bytes are still going out (a line too long): that is its answer.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
    // The gateway refuses a client that talks before its greeting (421, as Postfix's
    // postscreen): the rest goes in one write once the 220 is there.
    let sent = false;
    socket.on('data', () => {
      if (!sent && /^220 .*\r\n/m.test(text)) {
        sent = true;
        socket.write(bytes);
      }
    });
  });
}

/** The relay still answers: a new connection is greeted and EHLO is accepted. */
async function stillServing(label: string): Promise<void> {
  const smtp = await openSmtp(port);
  try {
    expect(await smtp.reply(), label).toMatch(/^220 /);
    expect(await smtp.command('EHLO check.test'), label).toMatch(/^250[ -]/m);
    await smtp.command('QUIT');
  } finally {
    smtp.close();
  }
  expect(relay.child.exitCode, label).toBeNull();
}

function message(subject: string, body: string): string {
  return `From: zoe@outside.test\r\nTo: ${BOB}\r\nSubject: ${subject}\r\nDate: Wed, 02 Dec 2026 03:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\n\r\n${body}`;
}

function transcript(body: string): string {
  return `EHLO mx.outside.test\r\nMAIL FROM:<zoe@outside.test>\r\nRCPT TO:<${BOB}>\r\nDATA\r\n${body}\r\n.\r\nQUIT\r\n`;
}

/** Bob's inbox on his stick after a sync: subjects and sealed reasons. */
async function syncedInbox(): Promise<Array<{ id: string; subject: string; sealed: { reason: string } | null }>> {
  const synced = await onStick(stick, ['--json', 'sync']);
  expect(synced.status, synced.stderr).toBe(0);
  const listed = await onStick(stick, ['--json', 'inbox']);
  expect(listed.status, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as Array<{ id: string; subject: string; sealed: { reason: string } | null }>;
}

let expectedArrivals = 0;

describe('SMTP smuggling: only CRLF . CRLF ends the data (RFC 5321 §4.1.1.4)', () => {
  // Each look-alike of the end of data, followed by a second transaction inside the same DATA.
  // A server that takes the look-alike as the end delivers the smuggled message as if zoe's MX
  // had sent it (SMTP smuggling, 2023). The gateway must deliver one message holding it all, or
  // refuse the whole; never two.
  const lookAlikes: Array<[string, string]> = [
    ['LF . LF', '\n.\n'],
    ['LF . CRLF', '\n.\r\n'],
    ['CRLF . LF', '\r\n.\n'],
    ['CR . CR', '\r.\r'],
    ['CR . CRLF', '\r.\r\n'],
    ['CRLF . CR', '\r\n.\r'],
  ];
  it.each(lookAlikes)('%s inside DATA does not end it', async (label, lookAlike) => {
    // As the attacker's own server sends it: the carrier's body holds the look-alike, then a
    // second transaction whose data the carrier's real end (CRLF . CRLF, from transcript()) ends.
    const smuggled = `MAIL FROM:<admin@${DOMAIN}>\r\nRCPT TO:<${BOB}>\r\nDATA\r\nFrom: admin@${DOMAIN}\r\nSubject: smuggled ${label}\r\n\r\nsmuggled`;
    const bytes = Buffer.from(transcript(message(`carrier ${label}`, `first part${lookAlike}${smuggled}`)), 'latin1');
    const { codes, text } = await sendRaw(bytes);
    // Greeting, EHLO, MAIL, RCPT, DATA's 354, then exactly one answer to the data, then QUIT's 221.
    const afterData = codes.slice(codes.indexOf('354') + 1);
    expect(codes.slice(0, 5), text).toEqual(['220', '250', '250', '250', '354']);
    expect(afterData.length, text).toBe(2);
    expect(afterData[1], text).toBe('221');
    expect(afterData[0], text).toMatch(/^(250|5\d\d)$/);
    if (afterData[0] === '250') expectedArrivals += 1;
    await stillServing(label);
  });

  it('the stick receives each accepted carrier as one message, and no smuggled one', async () => {
    const inbox = await syncedInbox();
    const subjects = inbox.map((entry) => entry.subject);
    expect(subjects.filter((subject) => subject.startsWith('smuggled'))).toEqual([]);
    expect(subjects.filter((subject) => subject.startsWith('carrier')).length).toBe(expectedArrivals);
    for (const entry of inbox.filter((item) => item.subject.startsWith('carrier'))) {
      const read = await onStick(stick, ['--json', 'read', entry.id]);
      expect(read.status, read.stderr).toBe(0);
      // The smuggled commands arrived as the carrier's text, if at all.
      expect(JSON.parse(read.stdout).body).toContain('smuggled');
    }
  }, 120_000);
});

describe('absurd sessions', () => {
  it('a command line of 4 MiB without an end is refused and the connection closed; the relay goes on', async () => {
    const { text } = await sendRaw(Buffer.concat([Buffer.from('EHLO '), Buffer.alloc(4 << 20, 0x61), Buffer.from('\r\nQUIT\r\n')]));
    expect(text).toMatch(/^220 /);
    expect(text).not.toMatch(/^250 /m);
    await stillServing('long line');
  }, 60_000);

  it('1,000 RCPT, bob 500 times among 500 unknown users: each answered, the message delivered once', async () => {
    const rcpts = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? `RCPT TO:<${BOB}>\r\n` : `RCPT TO:<nobody${i}@${DOMAIN}>\r\n`)).join('');
    const bytes = Buffer.from(`EHLO mx.outside.test\r\nMAIL FROM:<zoe@outside.test>\r\n${rcpts}DATA\r\n${message('many rcpt', 'once')}\r\n.\r\nQUIT\r\n`, 'latin1');
    const { codes, text } = await sendRaw(bytes);
    const rcptCodes = codes.slice(3, 1003);
    expect(rcptCodes.length, text.slice(0, 2000)).toBe(1000);
    expect(rcptCodes.filter((_, i) => i % 2 === 0).every((code) => code === '250')).toBe(true);
    expect(rcptCodes.filter((_, i) => i % 2 === 1).every((code) => code === '550')).toBe(true);
    expect(codes.slice(1003)).toEqual(['354', '250', '221']);
    expectedArrivals += 1;
    await stillServing('many rcpt');
  }, 60_000);

  it('MAIL FROM and RCPT TO parameters that were not announced are refused (555), a bare CR or a NUL among them included', async () => {
    for (const [label, line] of [
      ['bare CR in MAIL FROM', 'MAIL FROM:<zoe@outside.test>\rRCPT TO:<root@localhost>'],
      ['an unknown MAIL FROM parameter', 'MAIL FROM:<zoe@outside.test> X-SMUGGLE=1'],
      ['a DSN parameter not announced', `RCPT TO:<${BOB}> NOTIFY=NEVER`],
      ['bare CR in RCPT TO', `RCPT TO:<${BOB}>\rDATA`],
    ] as const) {
      const smtp = await openSmtp(port);
      try {
        await smtp.reply();
        await smtp.command('EHLO mx.outside.test');
        if (line.startsWith('RCPT')) expect(await smtp.command('MAIL FROM:<zoe@outside.test> BODY=8BITMIME SIZE=100'), label).toMatch(/^250 /);
        expect(await smtp.command(line), label).toMatch(/^555 5\.5\.4 /);
      } finally {
        smtp.close();
      }
    }
    await stillServing('parameters');
  });

  it('NUL bytes in addresses are refused, not taken', async () => {
    for (const [label, line] of [
      ['NUL in MAIL FROM', 'MAIL FROM:<zoe\u0000@outside.test>'],
      ['NUL in RCPT', `RCPT TO:<bob\u0000@${DOMAIN}>`],
    ] as const) {
      const smtp = await openSmtp(port);
      try {
        await smtp.reply();
        await smtp.command('EHLO mx.outside.test');
        const first = label.includes('RCPT') ? await smtp.command('MAIL FROM:<zoe@outside.test>') : '250';
        expect(first).toMatch(/^250/);
        expect(await smtp.command(line), label).toMatch(/^5\d\d /);
      } finally {
        smtp.close();
      }
    }
    await stillServing('nul');
  });
});

describe(`seeded mutations of a whole transcript, sent in one write (CALIOP_TEST_SEED=${SEED})`, () => {
  const CASES = 150;
  it(`${CASES} mutated sessions: every one answered or closed, the relay serving after each; the stick syncs and reads what was accepted`, async () => {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const base = Buffer.from(transcript(message('mutant', 'Hello Bob,\r\n\r\nsee you.\r\n-- \r\nZoe')), 'latin1');
    const inserts = ['\r', '\n', '\u0000', '.', '\r\n.\r\n', '\n.\n', '\u00ff', '\u001b[2J', 'RSET\r\n', 'DATA\r\n', '=?utf-8?b?AAAA?=', ':'];
    let accepted = 0;
    const outcomes = new Map<string, number>();
    for (let index = 0; index < CASES; index++) {
      let bytes = Buffer.from(base);
      const mutations = 1 + Math.floor(random() * 4);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * bytes.length);
        switch (Math.floor(random() * 5)) {
          case 0: // flip a byte
            bytes[at] = Math.floor(random() * 256);
            break;
          case 1: // insert a hostile piece
            bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(inserts), 'latin1'), bytes.subarray(at)]);
            break;
          case 2: // repeat a piece up to 2,000 times (long lines, many headers)
            {
              const length = 1 + Math.floor(random() * 40);
              const piece = bytes.subarray(at, at + length);
              bytes = Buffer.concat([bytes.subarray(0, at), ...Array.from({ length: 1 + Math.floor(random() * 2000) }, () => piece), bytes.subarray(at)]);
            }
            break;
          case 3: // cut
            bytes = bytes.subarray(0, at);
            break;
          default: // remove a piece
            bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + Math.floor(random() * 30))]);
        }
      }
      // Whatever state the mutations left the session in, this ends it: a DATA still open ends
      // (a message, if the rest allows), anything else is an unknown command, then QUIT.
      bytes = Buffer.concat([bytes, Buffer.from('\r\n.\r\nQUIT\r\n')]);
      const label = `case ${index} (seed ${SEED}): ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`;
      const { codes, text } = await sendRaw(bytes);
      expect(codes[0], label).toBe('220');
      // Every reply is a well-formed code, and the data was answered at most once per 354.
      for (const code of codes) expect(code, label).toMatch(/^[2-5]\d\d$/);
      const dataAnswers = codes.filter((code, i) => codes[i - 1] === '354');
      accepted += dataAnswers.filter((code) => code === '250').length;
      const key = codes.slice(1).join(' ').slice(0, 40);
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      expect(text.length, label).toBeLessThan(1 << 20);
      await stillServing(label);
    }
    console.log(`gateway fuzz: ${CASES} sessions, ${accepted} messages accepted; replies after the greeting, most common: ${[...outcomes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${n}x [${k}]`).join(', ')}`);
    expectedArrivals += accepted;
    expect(accepted).toBeGreaterThan(0); // the mutations left some messages whole enough to deliver

    // Whole arrivals, store included: bob's stick syncs every accepted message; each is read
    // through the service `caliop read` calls (in this process: one unlock, not one per
    // message), and the first few and every sealed one through `caliop read --json` itself.
    const inbox = await syncedInbox();
    expect(inbox.length).toBe(expectedArrivals);
    const stickFound = stickAt(stick, '--stick');
    const session = await StickSession.open(stickFound, await beginStickUnlock(stickFound, PASSPHRASE));
    let sealed = 0;
    for (const entry of inbox) {
      const view = await readOne(session, entry.id).catch((error: unknown) => error);
      if (entry.sealed !== null) {
        sealed += 1;
        expect(isCaliopError(view, 'message_over_limit'), `${entry.id}: ${String(view)}`).toBe(true);
      } else {
        expect(view instanceof Error, `${entry.id}: ${String(view)}`).toBe(false);
        expect(typeof (view as MessageView).body, entry.id).toBe('string');
      }
    }
    for (const entry of inbox.filter((item, index) => index < 5 || item.sealed !== null)) {
      const read = await onStick(stick, ['--json', 'read', entry.id]);
      expect(read.status, `${entry.id}: ${read.stderr}`).toBe(entry.sealed === null ? 0 : 44);
      expect(read.stderr).not.toMatch(/\n\s+at /);
      expect(read.stdout).not.toMatch(/\u001b/);
    }
    console.log(`gateway fuzz: bob's stick holds ${inbox.length} messages, ${sealed} sealed over a limit, each read`);
  }, 900_000);
});
