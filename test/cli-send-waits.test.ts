// `caliop send` says why a message waits in the outbox (docs/cli.md §3.11): "the relay could
// not be reached" only when no relay answered; a relay that answered 429 past what the client
// waits (docs/api.md §8.9: Retry-After over 10 s) is named as such (issue 9's audit: a 429
// was reported as unreachable). Real relay on loopback, its rate limit made tiny.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initEnrolled, onStick, temporaryFolder } from './helpers/caliop.js';
import { startRelayProcess, type RelayProcess } from './relay/helpers/relay-process.js';

const scratch = temporaryFolder('send-waits');
const DOMAIN = 'caliop.example';
let relay: RelayProcess;
const stick = join(scratch.path, 'ana');

beforeAll(async () => {
  relay = await startRelayProcess({ domain: DOMAIN, dataDir: join(scratch.path, 'relay-data'), port: 0, extraArgs: ['--rate-burst', '8', '--rate-per-minute', '1'] });
  mkdirSync(stick);
  await initEnrolled(stick, 'Ana', `ana@${DOMAIN}`, relay);
}, 300_000);

afterAll(async () => {
  await relay?.stop();
  scratch.remove();
});

it('a send the relay rate-limits waits in the outbox "because the relay answered", not "could not be reached"; --json names the reason', async () => {
  let waited: { status: number; stderr: string } | undefined;
  for (let attempt = 0; attempt < 12 && waited === undefined; attempt++) {
    const run = await onStick(stick, ['send', '--to', `ana@${DOMAIN}`, '--subject', `n${attempt}`], { input: 'x\n' });
    expect(run.status, run.stderr).toBe(0);
    if (/waits in the outbox/.test(run.stderr)) waited = run;
  }
  expect(waited, 'the relay limited a send within 12').toBeDefined();
  expect(waited!.stderr).toMatch(/waits in the outbox: the relay answered but could not take it now \(relay_rate_limited/);
  expect(waited!.stderr).not.toMatch(/could not be reached/);
  const json = await onStick(stick, ['--json', 'send', '--to', `ana@${DOMAIN}`, '--subject', 'json'], { input: 'x\n' });
  expect(json.status, json.stderr).toBe(0);
  const report = JSON.parse(json.stdout) as { queued: boolean; waitReason?: { code: string } };
  expect(report).toMatchObject({ queued: true, waitReason: { code: 'relay_rate_limited' } });
}, 300_000);
