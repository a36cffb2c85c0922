// Issue 12, "Hostile relay": a fake relay on loopback, with the real relay's TLS key
// (so the stick's pin matches), passes requests through to the real relay until a
// scenario makes it answer as an attacker would: endless and slow answers, malformed
// JSON, wrong schemas, too many messages, redirects, cursor games, long rate limits,
// a lying directory and a garbled submit receipt. Each time `caliop` must end within
// bounded time and memory, with a documented error (docs/api.md §4.4), no stack trace,
// and nothing stored wrongly. Real relay process, real caliop processes.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNSAFE_TEST_RELAY_TIMEOUT_ENV } from '../../src/edges/relay-client.js';
import { ERROR_TABLE as ERRORS } from '../../src/errors.js';
import { initEnrolled, onStick, temporaryFolder, watched, type Watched } from '../helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';

const DOMAIN = 'caliop.example';
const scratch = temporaryFolder('hostile-relay');
let relay: RelayProcess;
let fake: https.Server;
let evil: https.Server;
let evilHits = 0;
let fakeUrl = '';
/** The scenario: answers a request itself (true) or lets it through to the real relay. */
let hostile: ((request: IncomingMessage, response: ServerResponse, path: string) => boolean) | null = null;
let capturedPage: { messages: unknown[] } | null = null;
const sticks: Record<string, string> = {};
const exitOf = (code: keyof typeof ERRORS) => ERRORS[code].exit;

function passThrough(request: IncomingMessage, response: ServerResponse, rewrite?: (body: Buffer) => Buffer): void {
  const upstream = https.request(
    { host: '127.0.0.1', port: new URL(relay.url).port, method: request.method, path: request.url, headers: request.headers, rejectUnauthorized: false },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = rewrite ? rewrite(Buffer.concat(chunks)) : Buffer.concat(chunks);
        const headers = { ...answer.headers, 'content-length': String(body.length) };
        response.writeHead(answer.statusCode ?? 502, headers);
        response.end(body);
      });
    },
  );
  upstream.on('error', () => response.destroy());
  request.pipe(upstream);
}


async function inboxIds(name: string): Promise<string[]> {
  const run = await onStick(sticks[name]!, ['--json', 'inbox']);
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { id: string }[]).map((entry) => entry.id).sort();
}

/** A documented error, said once, without a stack trace. */
function expectCleanFailure(run: Watched, exit: number, what: RegExp): void {
  expect(run.status, run.stderr).toBe(exit);
  expect(run.stderr).toMatch(/^caliop: error: /m);
  expect(run.stderr).toMatch(what);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

const figures: string[] = [];

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0, store: 'sqlite' });
  const tls = { cert: readFileSync(join(relay.dataDir, 'dev-tls-cert.pem')), key: readFileSync(join(relay.dataDir, 'dev-tls-key.pem')) };
  fake = https.createServer(tls, (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (hostile?.(request, response, path)) return;
    passThrough(request, response);
  });
  evil = https.createServer(tls, (_request, response) => {
    evilHits += 1;
    response.end('{}');
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  fakeUrl = `https://127.0.0.1:${(fake.address() as { port: number }).port}`;
  for (const name of ['alice', 'bob']) {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    await initEnrolled(stick, name, `${name}@${DOMAIN}`, { url: fakeUrl, pin: relay.pin });
    sticks[name] = stick;
  }
  const sent = await onStick(sticks.bob!, ['send', '--to', `alice@${DOMAIN}`, '--subject', 'the one real message'], { input: 'hello' });
  expect(sent.status, sent.stderr).toBe(0);
}, 300_000); // two ceremonies and a send on a loaded machine

afterAll(async () => {
  fake?.closeAllConnections();
  evil?.closeAllConnections();
  fake?.close();
  evil?.close();
  await relay?.dispose();
  scratch.remove();
  console.log(`hostile relay: ${figures.length} scenarios\n  ${figures.join('\n  ')}`);
});

const page = (body: unknown) => (_request: IncomingMessage, response: ServerResponse, path: string) => {
  if (path !== '/v1/mailbox') return false;
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
  return true;
};

describe('sync against a hostile relay', () => {
  it('cursor_replay: a cursor given twice ends the sync; the real message is stored once', async () => {
    let requests = 0;
    hostile = (request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      requests += 1;
      if (capturedPage === null) {
        passThrough(request, response, (body) => {
          const real = JSON.parse(body.toString('utf8')) as { messages: unknown[] };
          capturedPage = real;
          return Buffer.from(JSON.stringify({ ...real, nextCursor: 'loop' }));
        });
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ...capturedPage, nextCursor: 'loop' }));
      }
      return true;
    };
    const run = await watched(sticks.alice!, ['--json', 'sync']);
    expectCleanFailure(run, exitOf('relay_bad_request'), /cursor "loop" a second time/);
    expect(requests).toBe(2);
    expect(capturedPage!.messages).toHaveLength(1);
    expect(await inboxIds('alice')).toHaveLength(1);
    figures.push(`cursor replay: exit ${run.status} after ${requests} pages, ${run.seconds.toFixed(1)} s, 1 message stored once`);
  });

  it('endless_answer: a page that never ends is cut at the ceiling, memory bounded', async () => {
    let written = 0;
    const before = await inboxIds('alice');
    hostile = (_request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const more = () => {
        while (!response.destroyed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
      };
      response.on('close', () => undefined);
      more();
      return true;
    };
    const run = await watched(sticks.alice!, ['--json', 'sync']);
    expectCleanFailure(run, exitOf('relay_bad_request'), /larger than \d+ bytes; it was cut off/);
    expect(written).toBeLessThan(256 * 1024 * 1024); // it stopped reading long before the 512 MiB on offer
    expect(run.peakRssMiB).toBeLessThan(600);
    expect(await inboxIds('alice')).toEqual(before);
    figures.push(`endless answer: exit ${run.status} in ${run.seconds.toFixed(1)} s, ${Math.round(written / 1048576)} MiB offered before the cut, peak RSS ${run.peakRssMiB} MiB`);
  });

  // The client's timeout is 30 s; this run has it at 5 s (CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS, a test
  // switch, docs/api.md §4.4): the same code path, a sixth of the wait (issue 16, the suite's cost).
  it('slow_stream: one byte at a time forever ends at the client timeout', async () => {
    const timeoutMs = 5_000;
    const timers: NodeJS.Timeout[] = [];
    // Timed from the request's arrival to the client hanging up (events of this server), not the
    // whole run: the run's start-up and unlock took 7-15x longer at load 20-32 than quiet, so its
    // 90 s bound could be passed with the 30 s timeout kept.
    let answered = 0;
    const hangUps: number[] = [];
    hostile = (_request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      response.writeHead(200, { 'content-type': 'application/json' });
      const at = performance.now();
      answered += 1;
      response.on('close', () => hangUps.push(performance.now() - at));
      timers.push(setInterval(() => response.destroyed || response.write(' '), 200));
      return true;
    };
    const run = await watched(sticks.alice!, ['--json', 'sync'], '', { [UNSAFE_TEST_RELAY_TIMEOUT_ENV]: String(timeoutMs) });
    timers.forEach(clearInterval);
    expectCleanFailure(run, exitOf('relay_unreachable'), /timed out|ETIMEDOUT/);
    await vi.waitFor(() => expect(hangUps).toHaveLength(answered));
    expect(answered).toBe(1);
    // The mailbox's answer was under way (bytes kept coming) when the timeout ended it: not much after.
    expect(hangUps[0]).toBeLessThan(60_000);
    expect(run.seconds).toBeGreaterThanOrEqual(timeoutMs / 1000);
    figures.push(`slow stream: exit ${run.status} in ${run.seconds.toFixed(1)} s, hung up ${(hangUps[0]! / 1000).toFixed(1)} s after the answer began (client timeout ${timeoutMs / 1000} s in this test, 30 s by default), peak RSS ${run.peakRssMiB} MiB`);
  }, 180_000);

  const refusals: [string, () => unknown, RegExp][] = [
    ['malformed JSON', () => '{"messages": [', /does not follow docs\/api\.md/],
    ['wrong schema', () => ({ messages: 'many', nextCursor: 7, through: null }), /does not follow docs\/api\.md/],
    ['1,001 messages in a page', () => ({ messages: Array(1001).fill(capturedPage!.messages[0]), nextCursor: null, through: 'x' }), /does not follow docs\/api\.md/],
    ['an empty page announcing more', () => ({ messages: [], nextCursor: `c${Math.random().toString(36).slice(2)}`, through: null }), /an empty page that announces more/],
  ];
  it('refused: malformed JSON, wrong schema, 1,001 messages, an empty page announcing more', async () => {
    const before = await inboxIds('alice');
    for (const [name, body, reason] of refusals) {
      const answer = body();
      hostile = page(answer);
      const run = await watched(sticks.alice!, ['--json', 'sync']);
      expectCleanFailure(run, exitOf('relay_bad_request'), reason);
      figures.push(`${name}: exit ${run.status} in ${run.seconds.toFixed(1)} s`);
    }
    expect(await inboxIds('alice')).toEqual(before);
  }, 300_000); // a hang guard for four syncs: 5.9 s quiet (CI), 89 s at load ~20 (issue 16's loop, run 1), over the 120 s default at load 30+

  it('endless_known_pages: fresh cursors over messages already held end after 21 pages', async () => {
    let requests = 0;
    hostile = (_request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ messages: capturedPage!.messages, nextCursor: `page${requests}`, through: null }));
      return true;
    };
    const before = await inboxIds('alice');
    const run = await watched(sticks.alice!, ['--json', 'sync']);
    expectCleanFailure(run, exitOf('relay_bad_request'), /21 pages in a row with nothing new/);
    expect(requests).toBe(21);
    expect(await inboxIds('alice')).toEqual(before);
    figures.push(`endless known pages: exit ${run.status} after ${requests} pages, ${run.seconds.toFixed(1)} s`);
  });

  it('redirect: not followed', async () => {
    hostile = (_request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      response.writeHead(302, { location: `https://127.0.0.1:${(evil.address() as { port: number }).port}/v1/mailbox` });
      response.end();
      return true;
    };
    const run = await watched(sticks.alice!, ['--json', 'sync']);
    expectCleanFailure(run, exitOf('relay_bad_request'), /302/);
    expect(evilHits).toBe(0);
    figures.push(`redirect: exit ${run.status}, 0 requests reached the redirect target`);
  });

  it('rate limit for a day: reported at once, not waited', async () => {
    // Asked once (a wait the client takes, up to MAX_RATE_WAIT_S, ends in a second request), and
    // timed from the 429 to the exit, not from the start (see slow_stream).
    const refusals: number[] = [];
    hostile = (_request, response, path) => {
      if (path !== '/v1/mailbox') return false;
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '86400' });
      response.end(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }));
      refusals.push(performance.now());
      return true;
    };
    const run = await watched(sticks.alice!, ['--json', 'sync']);
    const exited = performance.now();
    expectCleanFailure(run, exitOf('relay_rate_limited'), /retry after 86400 s/);
    expect(refusals).toHaveLength(1);
    expect(exited - refusals[0]!).toBeLessThan(60_000);
    figures.push(`429 for a day: exit ${run.status} in ${run.seconds.toFixed(1)} s, ${((exited - refusals[0]!) / 1000).toFixed(1)} s after the 429`);
  });
});

describe('send against a hostile relay', () => {
  it("a lying directory: bob's cert for carol is refused and not recorded", async () => {
    const bobCert = JSON.parse((await onStick(sticks.alice!, ['--json', 'contacts', 'list'])).stdout) as unknown;
    hostile = (request, response, path) => {
      if (path !== `/v1/certs/carol@${DOMAIN}`) return false;
      // The real relay's answer for bob, given for carol.
      const upstream = https.request({ host: '127.0.0.1', port: new URL(relay.url).port, path: `/v1/certs/bob@${DOMAIN}`, rejectUnauthorized: false }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(chunks)));
      });
      upstream.end();
      void request;
      return true;
    };
    const run = await watched(sticks.alice!, ['send', '--to', `carol@${DOMAIN}`, '--subject', 'for carol'], 'only for carol');
    expect(run.status, run.stderr).not.toBe(0);
    expect(run.status).not.toBe(exitOf('internal'));
    expect(run.stderr).toMatch(/^caliop: error: /m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const contacts = JSON.parse((await onStick(sticks.alice!, ['--json', 'contacts', 'list'])).stdout) as { address: string }[];
    expect(contacts.map((contact) => contact.address)).not.toContain(`carol@${DOMAIN}`);
    expect(JSON.parse((await onStick(sticks.alice!, ['--json', 'outbox'])).stdout)).toEqual([]);
    void bobCert;
    figures.push(`lying directory: exit ${run.status}, carol not recorded, nothing queued`);
  });

  it('a garbled submit receipt: the message waits as failed, and the retry delivers it once', async () => {
    let submits = 0;
    hostile = (request, response, path) => {
      if (path !== '/v1/messages' || request.method !== 'POST') return false;
      submits += 1;
      request.resume();
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end('{"id": 12}');
      return true;
    };
    const run = await watched(sticks.alice!, ['send', '--to', `bob@${DOMAIN}`, '--subject', 'receipt games'], 'once');
    expectCleanFailure(run, exitOf('relay_bad_request'), /does not follow docs\/api\.md/);
    const outbox = JSON.parse((await onStick(sticks.alice!, ['--json', 'outbox'])).stdout) as { id: string; state: string }[];
    expect(outbox).toEqual([expect.objectContaining({ state: 'failed' })]);
    hostile = null;
    const retried = await onStick(sticks.alice!, ['outbox', 'retry', outbox[0]!.id]);
    expect(retried.status, retried.stderr).toBe(0);
    const synced = await onStick(sticks.bob!, ['--json', 'sync']);
    expect(synced.status, synced.stderr).toBe(0);
    const subjects = (JSON.parse((await onStick(sticks.bob!, ['--json', 'inbox'])).stdout) as { subject: string }[]).map((entry) => entry.subject);
    expect(subjects.filter((subject) => subject === 'receipt games')).toHaveLength(1);
    figures.push(`garbled receipt: exit ${run.status}, ${submits} submit answered by the fake, kept as failed, retried, bob holds it once`);
  });
});
