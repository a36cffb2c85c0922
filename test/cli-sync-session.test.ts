// `caliop sync` in a relay session (docs/api.md §4.6.4): the real CLI on two sticks and the
// real relay on loopback. A sync opens one session, signed by the device key, and sends its
// mail requests in it; the session lives in the process's memory only, so the next `caliop
// sync` (another process) opens its own. A relay started with --no-sessions announces none,
// and the same sync signs every request. The relay's request log (one JSON line per request,
// docs/api.md §4.5) shows which routes were called.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { API_ROUTES } from '../src/api/routes.js';
import { initEnrolled, onStick, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('sync-session');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
const sticks: Record<string, string> = {};

interface RequestLine {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly device: string | null;
}

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay') });
  await Promise.all(['alice', 'bob'].map(async (name) => {
    const stick = join(scratch.path, name);
    mkdirSync(stick);
    await initEnrolled(stick, name, `${name}@${DOMAIN}`, relay);
    sticks[name] = stick;
  }));
}, 600_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

/** The relay's request lines from index `from` on, once the line of `last` (a route) is there: the log is written in order. */
async function requestsUntil(from: number, last: { method: string; route: string }): Promise<RequestLine[]> {
  const lines = () =>
    relay.stderrLines
      .slice(from)
      .filter((line) => line.includes('"event":"request"'))
      .map((line) => JSON.parse(line) as RequestLine);
  const seen = () => lines().some((line) => line.method === last.method && line.route === last.route);
  for (let polls = 0; !seen() && polls < 6000; polls++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(seen(), `no ${last.method} ${last.route} in the relay's log`).toBe(true);
  return lines();
}

const opening = (line: RequestLine) => line.method === 'POST' && line.route === '/v1/session';

it('a sync opens one session for its requests; the next sync, another process, opens its own', async () => {
  for (let i = 0; i < 3; i++) {
    const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', `in a session ${i}`], { input: 'hello\n' });
    expect(sent.status, sent.stderr).toBe(0);
  }
  const before = relay.stderrLines.length;
  const synced = await onStick(sticks.bob!, ['--json', 'sync']);
  expect(synced.status, synced.stderr).toBe(0);
  expect(JSON.parse(synced.stdout)).toMatchObject({ received: 3 });
  // The sync's last request is its acknowledgement of the page it stored.
  const first = await requestsUntil(before, { method: 'POST', route: API_ROUTES.mailboxAck.path });
  expect(first.filter(opening)).toEqual([expect.objectContaining({ status: 201 })]);
  const mail = first.filter((line) => line.route === API_ROUTES.mailboxPage.path || line.route === API_ROUTES.mailboxAck.path);
  expect(mail.length).toBeGreaterThanOrEqual(2);
  expect(mail.every((line) => line.status === 200)).toBe(true);
  // The session opened before the first mail request: every mail request came after it.
  expect(first.findIndex(opening)).toBeLessThan(first.findIndex((line) => line.route === API_ROUTES.mailboxPage.path));

  const again = relay.stderrLines.length;
  const second = await onStick(sticks.bob!, ['--json', 'sync']);
  expect(second.status, second.stderr).toBe(0);
  expect(JSON.parse(second.stdout)).toMatchObject({ received: 0 });
  const next = await requestsUntil(again, { method: 'GET', route: API_ROUTES.mailboxPage.path });
  expect(next.filter(opening)).toHaveLength(1);
}, 300_000);

it('a relay that serves no sessions (--no-sessions): the same sync signs every request and receives all', async () => {
  const dataDir = relay.dataDir;
  await relay.stop();
  relay = await startRelayProcess({ domain: DOMAIN, dataDir, port: Number(new URL(relay.url).port), extraArgs: ['--no-sessions'] });
  const sent = await onStick(sticks.alice!, ['--json', 'send', '--to', `bob@${DOMAIN}`, '--subject', 'signed'], { input: 'hello\n' });
  expect(sent.status, sent.stderr).toBe(0);
  const before = relay.stderrLines.length;
  const synced = await onStick(sticks.bob!, ['--json', 'sync']);
  expect(synced.status, synced.stderr).toBe(0);
  expect(JSON.parse(synced.stdout)).toMatchObject({ received: 1 });
  const lines = await requestsUntil(before, { method: 'POST', route: API_ROUTES.mailboxAck.path });
  expect(lines.filter(opening)).toEqual([]);
  expect(lines.some((line) => line.route === API_ROUTES.relayInfo.path)).toBe(true);
}, 300_000);
