// docs/api.md §3.1, docs/gateway.md §3.10: role addresses. No stick takes postmaster@, abuse@,
// mailer-daemon@ and the others (a person holding them would read the domain's reports or write
// as the service); mail from outside to postmaster@ and abuse@ goes to the account the operator
// names with --postmaster (RFC 5321 §4.5.1: every domain accepts postmaster@). Real relay, swaks.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RelayErrorResponse } from '../../src/edges/relay-client.js';
import type { CaliopError } from '../../src/errors.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { clientFor, enrolled, enrolmentProof, makeIdentity } from '../relay/helpers/test-identity.js';
import { deliverBySwaks } from '../helpers/smtp.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { rfc5322, writeJson } from './helpers.js';
import { rawRequest } from '../relay/helpers/raw-request.js';
import { spawnSync } from 'node:child_process';
import { RELAY_MAIN } from '../relay/helpers/relay-process.js';

let scratch: TemporaryFolder;
let relay: RelayProcess;

beforeAll(async () => {
  scratch = temporaryFolder('gateway-postmaster');
  const records = writeJson(join(scratch.path, 'dns.json'), {});
  relay = await startRelayProcess({ extraArgs: ['--smtp-listen', '127.0.0.1:0', '--dns-records', records, '--postmaster', 'carol@example.test'] });
}, 60_000);

afterAll(async () => {
  await relay?.dispose();
  scratch?.remove();
});

async function deliver(to: string[], subject: string): Promise<string> {
  const message = rfc5322({ From: 'ops@outside.test', To: to.join(', '), Subject: subject, Date: new Date().toUTCString(), 'Message-ID': `<${subject}@outside.test>` }, 'A report.\r\n');
  return (await deliverBySwaks({ port: relay.smtp!.port, from: 'ops@outside.test', helo: 'mx.outside.test', to, tls: false, message, folder: scratch.path })).output;
}

async function enrolCode(address: string): Promise<string | undefined> {
  const identity = await makeIdentity(address);
  const client = clientFor(relay, identity);
  try {
    await client.enrol({ address, armoredCert: identity.armoredCert, proofSignature: await enrolmentProof(identity, relay.domain) });
    return undefined;
  } catch (error) {
    const cause = (error as CaliopError).cause;
    return cause instanceof RelayErrorResponse ? cause.code : String(error);
  } finally {
    client.close();
  }
}

it('no stick enrols a role address, with or without a +tag; a person\'s address that merely contains one is free', async () => {
  for (const local of ['postmaster', 'abuse', 'mailer-daemon', 'support', 'hostmaster', 'abuse+reports']) {
    expect(await enrolCode(`${local}@example.test`), local).toBe('address_reserved');
  }
  expect(await enrolCode('postmaster-fan@example.test')).toBeUndefined();
}, 120_000);

it('postmaster@ waits (450) until the operator\'s account exists, then it and abuse@ reach that account once; other role addresses are unknown (550)', async () => {
  expect(await deliver(['postmaster@example.test'], 'before')).toMatch(/<\*\* +450 4\.2\.1/);
  const carol = await enrolled(relay, 'carol');
  const bob = await enrolled(relay, 'bob');
  expect(await deliver(['postmaster@example.test', 'abuse@example.test'], 'both-roles')).toMatch(/<[-~] +250 2\.0\.0 Ok/);
  expect(await deliver(['mailer-daemon@example.test'], 'daemon')).toMatch(/<\*\* +550 5\.1\.1 No such user here/);
  expect(await deliver(['abuse+x@example.test'], 'tagged')).toMatch(/<\*\* +550 5\.1\.1 No such user here/);
  const carolMessages = (await carol.client.list()).messages;
  expect(carolMessages).toHaveLength(1);
  expect((await bob.client.list()).messages).toHaveLength(0);
  carol.client.close();
  bob.client.close();
}, 120_000);

it('MTA-STS (RFC 8461 §3.3): a relay with its SMTP gateway serves the policy dns-records prints, as text/plain, naming its SMTP host as the MX', async () => {
  const served = await rawRequest(relay.url, { method: 'GET', path: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.test' } });
  expect([served.status, served.headers['content-type']]).toEqual([200, 'text/plain; charset=utf-8']);
  expect(served.text).toBe('version: STSv1\nmode: enforce\nmx: example.test\nmax_age: 604800\n');
  const printed = spawnSync(process.execPath, [RELAY_MAIN, 'dns-records', '--data', relay.dataDir, '--domain', 'example.test'], { encoding: 'utf8' });
  const policy = printed.stdout.split('; MTA-STS policy file:\n')[1]!.split('\n').filter((line) => line.startsWith(';   ')).map((line) => `${line.slice(4)}\n`).join('');
  expect(policy).toBe(served.text);
  expect(printed.stdout).toMatch(/^; serves it \(with --smtp-listen, for its --smtp-hostname example\.test\) when mta-sts\.example\.test$/m);
});
