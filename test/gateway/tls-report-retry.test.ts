// docs/gateway.md §4.9.1, RFC 8460 §5.4: a TLS-RPT report for an `https:` rua that is not
// answered 2xx is retried (1 min, doubled, at most 1 h) for 24 hours, then given up with a
// log line; one whose process died between the claim and the POST is posted by the next
// run. A real HTTPS sink on loopback refuses (503) or cuts the connection as told, then
// accepts; the clock is the `now` each run is given (no sleeps). Both stores (the postgres
// project of vitest.config.ts runs it on PostgreSQL).

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureDkimKey, type DkimKey } from '../../src/relay/gateway/dkim.js';
import type { TlsSession } from '../../src/relay/gateway/tls-rpt.js';
import type { RelayStore } from '../../src/relay/store/relay-store.js';
import { retryTlsReportPosts, sendTlsReports, TLS_POST_RETRY_MS } from '../../src/relay/tls-report-command.js';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { openTestStore } from '../relay/helpers/test-store.js';

const DAY = '2026-11-30';
const T0 = Date.parse(`${DAY}T00:00:00Z`) + 86_400_000 + 3_600_000; // the next day, 01:00 UTC: the hourly job's first run
const at = (ms: number) => new Date(T0 + ms);
const MINUTE = 60_000;

/** What the sink does with each POST, in turn; past the list, it accepts. */
type Answer = 'refuse' | 'cut' | 'accept';
let answers: Answer[] = [];
const received: Buffer[] = [];
let scratch: TemporaryFolder;
let sink: Server;
let ca: string;
let url: string;
let dkim: DkimKey;
let store: RelayStore & { dispose(): Promise<void> };
let logged: Record<string, unknown>[];

function session(policyDomain: string): TlsSession {
  return { day: DAY, policyDomain, policyType: 'no-policy-found', policyStrings: [], mxHosts: [], result: 'success', sendingIp: '192.0.2.1', receivingMx: `mx.${policyDomain}`, receivingIp: '198.51.100.7' };
}

function deps(now: Date, post?: (url: string, body: Uint8Array, ca: string | null) => Promise<string>) {
  return { store, domain: 'example.test', dkim, resolveTxt: async () => [[`v=TLSRPTv1; rua=${url}`]], ca, now, log: (fields: Record<string, unknown>) => void logged.push(fields), ...(post ? { post } : {}) };
}

beforeAll(async () => {
  scratch = temporaryFolder('tls-report-retry');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'sink.key', '-out', 'sink.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
    { cwd: scratch.path, stdio: 'ignore' },
  );
  ca = readFileSync(join(scratch.path, 'sink.pem'), 'utf8');
  sink = createServer({ cert: ca, key: readFileSync(join(scratch.path, 'sink.key')) }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = answers.shift() ?? 'accept';
      if (answer === 'cut') {
        request.socket.destroy(); // interrupted: no answer at all
        return;
      }
      if (answer === 'accept') received.push(Buffer.concat(chunks));
      response.writeHead(answer === 'accept' ? 200 : 503).end();
    });
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  url = `https://localhost:${(sink.address() as { port: number }).port}/v1/tlsrpt`;
  dkim = ensureDkimKey(scratch.path, new Date());
}, 60_000);

afterAll(() => {
  sink?.close();
  scratch?.remove();
});

beforeEach(async () => {
  store = await openTestStore();
  answers = [];
  received.length = 0;
  logged = [];
});

afterEach(async () => {
  await store.dispose();
});

describe('TLS-RPT over HTTPS is retried for 24 hours (docs/gateway.md §4.9.1, RFC 8460 §5.4)', () => {
  it('refused, then cut off, then accepted: posted at the third attempt, 1 then 2 minutes later; nothing due after', async () => {
    await store.recordTlsSession(session('https.test'));
    answers = ['refuse', 'cut'];
    const sent = await sendTlsReports(deps(at(0)), DAY, false);
    expect(sent.map((report) => report.results)).toEqual([[`failed: HTTP 503; retry at ${at(MINUTE).toISOString()}`]]);
    expect(await retryTlsReportPosts(deps(at(MINUTE - 1)))).toEqual([]); // not due yet
    const second = await retryTlsReportPosts(deps(at(MINUTE)));
    expect(second).toHaveLength(1);
    expect(second[0]).toMatch(new RegExp(`^failed: .*; retry at ${at(3 * MINUTE).toISOString().replace(/\./g, '\\.')}$`));
    expect(await retryTlsReportPosts(deps(at(3 * MINUTE)))).toEqual(['posted']);
    expect(received).toHaveLength(1);
    const report = JSON.parse(gunzipSync(received[0]!).toString('utf8')) as { 'report-id': string };
    expect(report['report-id']).toBe(sent[0]!.reportId);
    expect(await retryTlsReportPosts(deps(at(TLS_POST_RETRY_MS)))).toEqual([]);
    expect(logged.map((line) => [line.event, line.attempts])).toEqual([['tls_report_post_deferred', 1], ['tls_report_sent', undefined], ['tls_report_post_deferred', 2], ['tls_report_posted', 3]]);
    // The day is reported once: the next hourly run neither builds nor posts it again.
    expect(await sendTlsReports(deps(at(60 * MINUTE)), DAY, false)).toEqual([]);
  });

  it('never accepted: tried with backoff until 24 hours after the claim, then given up with a log line', async () => {
    await store.recordTlsSession(session('down.test'));
    answers = Array.from({ length: 1000 }, () => 'refuse' as const);
    const [first] = await sendTlsReports(deps(at(0)), DAY, false);
    const attempts: number[] = [0];
    let next = /retry at (\S+)$/.exec(first!.results[0]!)?.[1];
    while (next !== undefined) {
      const now = Date.parse(next) - T0;
      attempts.push(now);
      expect(attempts.length, 'attempts within 24 hours').toBeLessThan(40);
      const results = await retryTlsReportPosts(deps(at(now)));
      expect(results).toHaveLength(1);
      next = /retry at (\S+)$/.exec(results[0]!)?.[1];
      if (next === undefined) expect(results[0]).toBe('failed: HTTP 503; given up');
    }
    // 1, 2, 4 … 32 minutes apart, then every hour, the last at 24 hours exactly.
    expect(attempts.slice(0, 8).map((ms) => ms / MINUTE)).toEqual([0, 1, 3, 7, 15, 31, 63, 123]);
    expect(attempts.at(-1)).toBe(TLS_POST_RETRY_MS);
    expect(attempts.slice(7).every((ms, i, all) => i === 0 || ms - all[i - 1]! === 60 * MINUTE || ms === TLS_POST_RETRY_MS)).toBe(true);
    expect(logged.at(-1)).toMatchObject({ event: 'tls_report_post_abandoned', policyDomain: 'down.test', url, attempts: attempts.length, since: at(0).toISOString(), error: 'failed: HTTP 503' });
    expect(received).toEqual([]);
    expect(await retryTlsReportPosts(deps(at(TLS_POST_RETRY_MS + 60 * MINUTE)))).toEqual([]);
  });

  it('the process died between the claim and the POST: the next run posts it once its lease is over', async () => {
    await store.recordTlsSession(session('crash.test'));
    const crash = async () => {
      throw new Error('killed');
    };
    await expect(sendTlsReports(deps(at(0), crash), DAY, false)).rejects.toThrow('killed');
    expect(await retryTlsReportPosts(deps(at(MINUTE)))).toEqual([]); // still held by the dead process's lease
    expect(await retryTlsReportPosts(deps(at(5 * MINUTE)))).toEqual(['posted']);
    expect(received).toHaveLength(1);
    expect(await sendTlsReports(deps(at(60 * MINUTE)), DAY, false)).toEqual([]);
  });
});
