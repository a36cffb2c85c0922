// docs/gateway.md §3.1.1: the inbound DATA all SMTP transactions hold at once has a budget
// (--smtp-data-budget, default twice the largest message): a transaction that would pass it is
// deferred, 452 4.3.1, and its sender retries; what a finished transaction held is given back.
// An audit sent 8 messages of 24 MB at once and the relay grew to 1.4 GB. Real relay, swaks.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { deliverBySwaks } from '../helpers/smtp.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { rfc5322, writeJson } from './helpers.js';

let scratch: TemporaryFolder;
let relay: RelayProcess;
let bob: { identity: TestIdentity; client: RelayClient };

beforeAll(async () => {
  scratch = temporaryFolder('gateway-budget');
  const records = writeJson(join(scratch.path, 'dns.json'), {});
  relay = await startRelayProcess({
    extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records, '--smtp-max-message-bytes', '300000', '--smtp-data-budget', '100000'],
  });
  bob = await enrolled(relay, 'bob');
}, 60_000);

afterAll(async () => {
  await relay?.dispose();
  scratch?.remove();
});

const messageOf = (bytes: number, subject: string) =>
  rfc5322({ From: 'ann@outside.test', To: 'bob@example.test', Subject: subject, Date: new Date().toUTCString(), 'Message-ID': `<${subject}@outside.test>` }, `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(bytes / 78)));

async function deliver(bytes: number, subject: string): Promise<string> {
  return (await deliverBySwaks({ port: relay.smtp!.port, from: 'ann@outside.test', helo: 'mx.outside.test', to: ['bob@example.test'], tls: false, message: messageOf(bytes, subject), folder: scratch.path })).output;
}

it('a message past the budget is deferred (452 4.3.1), under the max size; smaller ones go, again and again (the budget is given back)', async () => {
  expect(await deliver(150_000, 'over-budget')).toMatch(/<\*\* +452 4\.3\.1 Insufficient system storage/);
  for (let i = 0; i < 4; i++) expect(await deliver(60_000, `fits-${i}`)).toMatch(/<[-~] +250 2\.0\.0 Ok/);
  expect(await deliver(400_000, 'too-big')).toMatch(/<\*\* +552 5\.3\.4 Message too big/);
  expect(await deliver(60_000, 'after-too-big')).toMatch(/<[-~] +250 2\.0\.0 Ok/);
  expect((await bob.client.list()).messages).toHaveLength(5);
  expect(relay.stderrLines.some((line) => line.includes('"event":"smtp_deferred"') && line.includes('"reason":"data_budget"'))).toBe(true);
}, 120_000);
