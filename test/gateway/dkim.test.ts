// docs/gateway.md §4.4 (issue 14): outbound mail is DKIM-signed with a key the relay
// made in its data folder; `caliop-relay dns-records` prints the record, and a real
// SMTP sink's copy verifies with mailauth against exactly that record (served by a
// local resolver function: there is no DNS here).

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { resolverFromRecords } from '../../src/relay/gateway/dns-records.js';
import { RELAY_MAIN, startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { startSink, type Sink } from '../helpers/smtp.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { rfc5322 } from './helpers.js';
import { rawRequest } from '../relay/helpers/raw-request.js';

let scratch: TemporaryFolder;
let sink: Sink;
let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };

beforeAll(async () => {
  scratch = temporaryFolder('dkim');
  sink = await startSink(null);
  relay = await startRelayProcess({ extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none'] });
  alice = await enrolled(relay, 'alice');
});
afterAll(async () => {
  alice?.client.close();
  await relay?.dispose();
  await sink?.close();
  scratch?.remove();
});

function dnsRecords(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [RELAY_MAIN, 'dns-records', ...args], { encoding: 'utf8' });
}

/** The DKIM TXT record of a dns-records listing, as a resolver answers it (name -> TXT strings). */
function dkimRecordOf(zone: string): { name: string; strings: string[] } {
  const line = zone.split('\n').find((entry) => entry.includes('._domainkey.'));
  if (line === undefined) throw new Error(`no DKIM record in:\n${zone}`);
  const name = line.split(' ')[0]!.replace(/\.$/, '');
  const strings = [...line.matchAll(/"([^"]*)"/g)].map((match) => match[1] as string);
  return { name, strings };
}

async function send(subject: string): Promise<string> {
  const before = sink.received.length;
  const raw = rfc5322({ From: alice.identity.address, To: 'carol@outside.test', Subject: subject, Date: 'Mon, 30 Nov 2026 12:00:00 +0000', 'Message-ID': `<${subject}@example.test>` }, `Hello ${subject}\n`);
  await alice.client.submitOutbound({ envelopeTo: ['carol@outside.test'], rawMessage: raw, exposed: true });
  expect(sink.received).toHaveLength(before + 1);
  return sink.received.at(-1)!.raw;
}

async function dkimResults(message: string, records: Record<string, Record<string, unknown[]>>) {
  const result = await authenticate(message, {
    ip: '127.0.0.1',
    helo: 'example.test',
    sender: alice.identity.address,
    mta: 'mx.outside.test',
    resolver: resolverFromRecords(records),
    disableArc: true,
    disableBimi: true,
  });
  return (result.dkim.results ?? []).map((row) => ({ domain: row.signingDomain, result: row.status.result }));
}

describe('DKIM on outbound mail', () => {
  it('a relay without its SMTP gateway serves no MTA-STS policy (404): the policy names the gateway as the MX', async () => {
    const answer = await rawRequest(relay.url, { method: 'GET', path: '/.well-known/mta-sts.txt' });
    expect([answer.status, (answer.json as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
  });

  it('the relay made its key in DIR/dkim (0600) on first start; dns-records prints every record to publish', () => {
    const printed = dnsRecords(['--data', relay.dataDir, '--domain', 'example.test']);
    expect(printed.status).toBe(0);
    const selector = /^caliop[0-9]{6}$/;
    const { name } = dkimRecordOf(printed.stdout);
    expect(name.split('.')[0]).toMatch(selector);
    expect(statSync(join(relay.dataDir, 'dkim', `${name.split('.')[0]}.pem`)).mode & 0o777).toBe(0o600);
    for (const expected of [
      /^example\.test\. 3600 IN MX 10 example\.test\.$/m,
      /^example\.test\. 3600 IN TXT "v=spf1 mx -all"$/m,
      /^_dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"$/m,
      /^_mta-sts\.example\.test\. 3600 IN TXT "v=STSv1; id=[0-9]{14}"$/m,
      /^; MTA-STS: senders must use TLS to the MX\. The policy below must answer at$/m,
      /^; TLS-RPT: not published: its record must name a report address/m,
      /^openpgpkey\.example\.test\. 3600 IN CNAME example\.test\.$/m,
      /^;   mode: enforce$/m,
    ]) {
      expect(printed.stdout).toMatch(expected);
    }
    // Reports go only where the operator says (an address the relay accepts mail for): no postmaster@ or tls-reports@ it would refuse.
    expect(printed.stdout).not.toMatch(/postmaster@|tls-reports@|IN CNAME example\.test\.\n.*mta-sts/);
    const withReports = dnsRecords(['--data', relay.dataDir, '--domain', 'example.test', '--report-address', 'ops@example.test']).stdout;
    expect(withReports).toMatch(/^_dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:ops@example\.test"$/m);
    expect(withReports).toMatch(/^_smtp\._tls\.example\.test\. 3600 IN TXT "v=TLSRPTv1; rua=mailto:ops@example\.test"$/m);
    expect(dnsRecords(['--data', relay.dataDir, '--domain', 'example.test', '--report-address', 'not an address']).status).toBe(2);
    // Printing again gives the same key (it is not remade).
    expect(dkimRecordOf(dnsRecords(['--data', relay.dataDir, '--domain', 'example.test']).stdout)).toEqual(dkimRecordOf(printed.stdout));
  });

  it('a real SMTP sink gets mail whose DKIM signature verifies against the published record; an altered body fails', async () => {
    const received = await send('dkim-pass');
    expect(received).toMatch(/^DKIM-Signature: .*d=example\.test/m);
    const record = dkimRecordOf(dnsRecords(['--data', relay.dataDir, '--domain', 'example.test']).stdout);
    const records = { [record.name]: { TXT: [record.strings] } };
    expect(await dkimResults(received, records)).toEqual([{ domain: 'example.test', result: 'pass' }]);
    expect(await dkimResults(received.replace('Hello dkim-pass', 'Hello dkim-PASS'), records)).toEqual([{ domain: 'example.test', result: 'neutral' }]);
    // Another key published under the selector: the signature does not verify.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const forged = { [record.name]: { TXT: [[`v=DKIM1; k=rsa; p=${other}`]] } };
    expect((await dkimResults(received, forged))[0]?.result).toBe('fail');
  });

  it('--dkim-key FILE --dkim-selector S: the operator\'s key signs, and dns-records prints its record', async () => {
    const keyFile = join(scratch.path, 'operator-dkim.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    const printed = dnsRecords(['--data', scratch.path, '--domain', 'example.test', '--dkim-key', keyFile, '--dkim-selector', 'ops2026']);
    expect(printed.status).toBe(0);
    const record = dkimRecordOf(printed.stdout);
    expect(record.name).toBe('ops2026._domainkey.example.test');
    expect(record.strings.join('')).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    await relay.stop();
    relay = await startRelayProcess({ dataDir: relay.dataDir, extraArgs: ['--smarthost', `127.0.0.1:${sink.port}`, '--smarthost-tls', 'none', '--dkim-key', keyFile, '--dkim-selector', 'ops2026'] });
    alice.client.close();
    const { clientFor } = await import('../relay/helpers/test-identity.js');
    alice = { identity: alice.identity, client: clientFor(relay, alice.identity) };
    const received = await send('dkim-operator');
    expect(await dkimResults(received, { [record.name]: { TXT: [record.strings] } })).toEqual([{ domain: 'example.test', result: 'pass' }]);
  });

  it('bad command lines exit 2 with a usage line', () => {
    for (const args of [['--domain', 'example.test'], ['--data', scratch.path, '--domain', 'example.test', '--dkim-key', 'x.pem'], ['--data', scratch.path, '--domain', 'not a domain']]) {
      const result = dnsRecords(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^caliop-relay: error: .*\nusage: caliop-relay dns-records/);
    }
  });
});
