// docs/gateway.md §4.9: `caliop-relay tls-report`, the parts test/gateway/mx-delivery
// does not reach. The real command (build/) against a local DNS server (UDP, dns-packet)
// that publishes `_smtp._tls` for two domains: one asks for reports by HTTPS (RFC 8460
// §5.4: a real HTTPS sink with a certificate the command trusts by --outbound-ca; the
// POST's media type and gzipped JSON checked field by field), one by mail (the report
// waits in the outbound queue, DKIM-signed with the key given by --dkim-key, verified with
// mailauth). And a crash while the report is being marked sent and queued: neither stays,
// so the next run sends it (the mark and the mail commit together).

import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as dnsPacket from 'dns-packet';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimKeyFrom, ensureDkimKey } from '../../src/relay/gateway/dkim.js';
import { resolverFromRecords } from '../../src/relay/gateway/dns-records.js';
import type { TlsSession } from '../../src/relay/gateway/tls-rpt.js';
import { openRelayStore } from '../../src/relay/store/open-store.js';
import type { QueuedOutbound, RelayStore } from '../../src/relay/store/relay-store.js';
import { sendTlsReports } from '../../src/relay/tls-report-command.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { RELAY_MAIN } from '../relay/helpers/relay-process.js';
import { databaseNameFor, dropDatabase, ensureDatabase, openTestStore, TEST_STORE } from '../relay/helpers/test-store.js';

const DAY = '2026-11-30';
const SELECTOR = 'rpt2026';

/** A resolver on loopback answering TXT from `zone` (NXDOMAIN for other names). */
async function startDns(zone: Record<string, string[]>): Promise<{ port: number; close(): void }> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (bytes, from) => {
    const query = dnsPacket.decode(bytes);
    const question = query.questions?.[0];
    if (question === undefined) return;
    const texts = question.type === 'TXT' ? zone[question.name.toLowerCase()] : undefined;
    const answers = (texts ?? []).map((text) => ({ type: 'TXT' as const, name: question.name, ttl: 60, class: 'IN' as const, data: [text] }));
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (zone[question.name.toLowerCase()] === undefined ? 3 : 0);
    socket.send(dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags, questions: [question], answers }), from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, close: () => socket.close() };
}

interface Posted {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function session(policyDomain: string, result: TlsSession['result'], receivingIp: string): TlsSession {
  return {
    day: DAY,
    policyDomain,
    policyType: 'sts',
    policyStrings: ['version: STSv1', 'mode: enforce', `mx: mx.${policyDomain}`, 'max_age: 86400'],
    mxHosts: [`mx.${policyDomain}`],
    result,
    sendingIp: '192.0.2.1',
    receivingMx: `mx.${policyDomain}`,
    receivingIp,
  };
}

let scratch: TemporaryFolder;
let dns: Awaited<ReturnType<typeof startDns>>;
let sink: Server;
const posted: Posted[] = [];
let dataDir: string;
let storeArgs: string[] = [];
let keyFile: string;
let caFile: string;

/** The store the command uses (SQLite in DIR, or the PostgreSQL database named after DIR). */
async function commandStore(): Promise<RelayStore> {
  if (TEST_STORE === 'postgres') return openRelayStore({ kind: 'postgres', url: storeArgs[1] as string }, dataDir);
  return openRelayStore({ kind: 'sqlite', file: null }, dataDir);
}

function runReport(extra: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_MAIN, 'tls-report', '--data', dataDir, ...storeArgs, '--domain', 'example.test', '--day', DAY, '--outbound-resolver', `127.0.0.1:${dns.port}`, ...extra], (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  scratch = temporaryFolder('tls-report');
  dataDir = join(scratch.path, 'relay');
  execFileSync('mkdir', ['-p', dataDir]);
  if (TEST_STORE === 'postgres') storeArgs = ['--store', await ensureDatabase(databaseNameFor(dataDir))];
  // The report sink's certificate, trusted by the command through --outbound-ca.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'sink.key', '-out', 'sink.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
    { cwd: scratch.path, stdio: 'ignore' },
  );
  caFile = join(scratch.path, 'sink.pem');
  sink = createServer({ cert: readFileSync(caFile), key: readFileSync(join(scratch.path, 'sink.key')) }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posted.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200).end();
    });
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const port = (sink.address() as { port: number }).port;
  dns = await startDns({
    '_smtp._tls.https.test': [`v=TLSRPTv1; rua=https://localhost:${port}/v1/tlsrpt`],
    '_smtp._tls.mail.test': ['v=TLSRPTv1; rua=mailto:tlsrpt@reports.test'],
  });
  // The operator's own key (not DIR/dkim's), as the relay would be given it.
  keyFile = join(scratch.path, 'dkim.pem');
  writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const store = await commandStore();
  try {
    for (const each of [
      session('https.test', 'success', '198.51.100.7'),
      session('https.test', 'success', '198.51.100.7'),
      session('https.test', 'certificate-expired', '198.51.100.8'),
      session('mail.test', 'success', '198.51.100.9'),
    ]) {
      await store.recordTlsSession(each);
    }
  } finally {
    await store.close();
  }
}, 60_000);

afterAll(async () => {
  sink?.close();
  dns?.close();
  if (TEST_STORE === 'postgres' && dataDir !== undefined) await dropDatabase(databaseNameFor(dataDir));
  scratch?.remove();
});

describe('caliop-relay tls-report (docs/gateway.md §4.9, RFC 8460)', () => {
  it('--dkim-key without --dkim-selector is refused, as by the relay', async () => {
    const refused = await runReport(['--dkim-key', keyFile]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^caliop-relay: error: --dkim-key and --dkim-selector go together/);
    expect(posted).toEqual([]);
  });

  it('https: rua: one POST of application/tlsrpt+gzip (§5.4), its JSON field by field; mailto: rua: queued, signed with --dkim-key; a second run sends nothing', async () => {
    const run = await runReport(['--outbound-ca', caFile, '--dkim-key', keyFile, '--dkim-selector', SELECTOR]);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as { day: string; dryRun: boolean; reports: { policyDomain: string; reportId: string; rua: string[]; results: string[] }[] };
    expect(printed.day).toBe(DAY);
    const byDomain = new Map(printed.reports.map((report) => [report.policyDomain, report]));
    expect([...byDomain.keys()].sort()).toEqual(['https.test', 'mail.test']);
    expect(byDomain.get('https.test')!.results).toEqual(['posted']);
    expect(byDomain.get('mail.test')!.results).toEqual(['queued']);

    // RFC 8460 §5.4: POST, the media type of §6.4, the gzipped report as the body.
    expect(posted).toHaveLength(1);
    const post = posted[0]!;
    expect(post.method).toBe('POST');
    expect(post.url).toBe('/v1/tlsrpt');
    expect(post.headers['content-type']).toBe('application/tlsrpt+gzip');
    expect(Number(post.headers['content-length'])).toBe(post.body.length);
    expect([...post.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]); // gzip (RFC 1952)
    const report = JSON.parse(gunzipSync(post.body).toString('utf8')) as Record<string, unknown>;
    // RFC 8460 §4.4, field by field.
    expect(Object.keys(report).sort()).toEqual(['contact-info', 'date-range', 'organization-name', 'policies', 'report-id']);
    expect(report['organization-name']).toBe('example.test');
    expect(report['contact-info']).toBe('postmaster@example.test');
    expect(report['report-id']).toBe(byDomain.get('https.test')!.reportId);
    expect(report['report-id']).toMatch(new RegExp(`^${DAY}\\.[0-9a-f-]{36}@example\\.test$`));
    expect(report['date-range']).toEqual({ 'start-datetime': `${DAY}T00:00:00Z`, 'end-datetime': `${DAY}T23:59:59Z` });
    expect(report.policies).toEqual([
      {
        policy: { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.https.test', 'max_age: 86400'], 'policy-domain': 'https.test', 'mx-host': ['mx.https.test'] },
        summary: { 'total-successful-session-count': 2, 'total-failure-session-count': 1 },
        'failure-details': [{ 'result-type': 'certificate-expired', 'sending-mta-ip': '192.0.2.1', 'receiving-mx-hostname': 'mx.https.test', 'receiving-ip': '198.51.100.8', 'failed-session-count': 1 }],
      },
    ]);

    // The mailed report waits in the outbound queue, signed with the operator's key and selector.
    const store = await commandStore();
    let queued: QueuedOutbound[];
    try {
      queued = await store.queuedOutboundOf('tlsrpt-noreply@example.test');
    } finally {
      await store.close();
    }
    expect(queued.map((item) => item.recipients)).toEqual([['tlsrpt@reports.test']]);
    const mail = Buffer.from(queued[0]!.message).toString('utf8');
    expect(mail).toMatch(new RegExp(`^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example\\.test;[^]*?s=${SELECTOR};`));
    const given = dkimKeyFrom(SELECTOR, readFileSync(keyFile, 'utf8'));
    const verified = await authenticate(mail, {
      ip: '192.0.2.1',
      helo: 'example.test',
      sender: 'tlsrpt-noreply@example.test',
      mta: 'mx.reports.test',
      resolver: resolverFromRecords({ [`${SELECTOR}._domainkey.example.test`]: { TXT: [[given.txtRecord]] } }),
      disableArc: true,
      disableBimi: true,
    });
    expect((verified.dkim.results ?? []).map((row) => [row.signingDomain, row.status.result])).toEqual([['example.test', 'pass']]);
    // Not DIR/dkim's key: the command did not make one.
    expect(() => readFileSync(join(dataDir, 'dkim', 'selector'))).toThrow();

    const again = await runReport(['--outbound-ca', caFile, '--dkim-key', keyFile, '--dkim-selector', SELECTOR]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { reports: unknown[] }).reports).toEqual([]);
    expect(posted).toHaveLength(1);
  }, 120_000);
});

describe('a crash while a report is marked sent and queued (docs/gateway.md §4.9)', () => {
  let store: RelayStore & { dispose(): Promise<void> };
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('the mark does not outlive a failed queuing: the next run sends the day\'s report', async () => {
    const dkim = ensureDkimKey(scratch.path, new Date());
    const deps = (on: RelayStore) => ({
      store: on,
      domain: 'example.test',
      dkim,
      resolveTxt: async () => [['v=TLSRPTv1; rua=mailto:tlsrpt@reports.test']],
      ca: null,
      now: new Date(`${DAY}T12:00:00Z`),
      log: () => {},
    });
    await store.recordTlsSession(session('crash.test', 'success', '198.51.100.10'));
    // The report's mail cannot enter the queue (its id is taken): the write fails where a crash would cut it.
    await store.enqueueOutbound({ id: 'taken', sender: 'someone@example.test', recipients: ['x@y.test'], message: new Uint8Array(1), exposed: true, createdAt: '', giveUpAt: '', attempts: 0, nextAttemptAt: '2999', lastError: '', requireTls: false });
    const failing = new Proxy(store, {
      get(target, key) {
        if (key === 'enqueueOutbound') return (item: QueuedOutbound) => target.enqueueOutbound({ ...item, id: 'taken' });
        if (key === 'claimTlsReport') {
          return (day: string, domain: string, id: string, at: string, mails: readonly QueuedOutbound[] = []) => target.claimTlsReport(day, domain, id, at, mails.map((mail) => ({ ...mail, id: 'taken' })));
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(sendTlsReports(deps(failing), DAY, false)).rejects.toThrow();
    expect(await store.queuedOutboundOf('tlsrpt-noreply@example.test')).toEqual([]);
    expect((await store.tlsSessionsOf(DAY)).map((row) => row.policyDomain)).toEqual(['crash.test']);

    const sent = await sendTlsReports(deps(store), DAY, false);
    expect(sent.map((report) => [report.policyDomain, report.results])).toEqual([['crash.test', ['queued']]]);
    expect((await store.queuedOutboundOf('tlsrpt-noreply@example.test')).map((item) => item.recipients)).toEqual([['tlsrpt@reports.test']]);
    expect(await sendTlsReports(deps(store), DAY, false)).toEqual([]);
  });
});
