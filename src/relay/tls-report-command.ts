// `caliop-relay tls-report --data DIR [--store URL] --domain D [--day YYYY-MM-DD]
// [--outbound-resolver IP[:PORT]] [--outbound-ca FILE] [--dkim-key FILE --dkim-selector S]
// [--dry-run]` (docs/gateway.md §4.9):
// the TLS-RPT reports (RFC 8460) of one UTC day, yesterday by default, built from the
// counts the relay kept and sent to the addresses each policy domain publishes. The
// relay process runs the same job every hour for the day before; the command runs it now
// (a test needs no clock). Reports by mail enter the outbound queue, which the running
// relay delivers; reports by HTTPS are posted here.

import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { readFileSync } from 'node:fs';
import { promises as dnsPromises } from 'node:dns';
import { isValidDomain } from '../api/address.js';
import { parse, storeOf } from './disclosure-command.js';
import { ensureDkimKey, readDkimKey, signWithDkim, type DkimKey } from './gateway/dkim.js';
import { DnsClient } from './gateway/dns-client.js';
import { buildReportMail, buildTlsReport, gzipReport, parseTlsRptRecord, reportFileName } from './gateway/tls-rpt.js';
import { dkimOption, RelayUsageError } from './options.js';
import type { QueuedOutbound, RelayStore, TlsReportPost } from './store/relay-store.js';
import { openCommandStore } from './command-error.js';

export const TLS_REPORT_USAGE = 'usage: caliop-relay tls-report --data DIR [--store URL] --domain DOMAIN [--day YYYY-MM-DD] [--outbound-resolver IP[:PORT]] [--outbound-ca FILE] [--dkim-key FILE --dkim-selector S] [--dry-run]';

/** RFC 8460 §5.4: at most this long for an HTTPS report. */
const POST_TIMEOUT_MS = 20_000;
/** docs/disclosure.md §1: counts are kept this many days after their day. */
export const TLS_RPT_RETENTION_DAYS = 7;
/** docs/gateway.md §4.9.1, RFC 8460 §5.4: an HTTPS report is retried this long after its claim. */
export const TLS_POST_RETRY_MS = 24 * 3_600_000;
/** The first retry this long after a failed POST, doubled each time, at most TLS_POST_MAX_BACKOFF_MS. */
export const TLS_POST_FIRST_BACKOFF_MS = 60_000;
export const TLS_POST_MAX_BACKOFF_MS = 3_600_000;
/** A process trying a POST holds it this long (the POST's 20 s and margin): if it dies, another takes it then. */
const TLS_POST_LEASE_MS = 5 * 60_000;
/** POSTs tried per run of the retry job. */
const TLS_POSTS_PER_RUN = 20;

export interface TlsReportDeps {
  readonly store: RelayStore;
  /** The relay's domain: the submitter, and the From of mailed reports. */
  readonly domain: string;
  readonly dkim: DkimKey;
  readonly resolveTxt: (name: string) => Promise<string[][]>;
  readonly ca: string | null;
  readonly now: Date;
  readonly log: (fields: Record<string, unknown>) => void;
  /** How reports are POSTed (postReport unless a test gives another). */
  readonly post?: ReportPoster;
}

/** What posts a report: the real one (postReport) unless a test gives another. */
export type ReportPoster = (url: string, gzipped: Uint8Array, ca: string | null) => Promise<string>;

export interface TlsReportOutcome {
  readonly policyDomain: string;
  readonly reportId: string;
  readonly rua: readonly string[];
  /** What happened to each rua: queued (mail), posted (HTTPS 2xx), failed, or dry-run. */
  readonly results: readonly string[];
  readonly report: Record<string, unknown>;
}

export function postReport(url: string, gzipped: Uint8Array, ca: string | null): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/tlsrpt+gzip', 'content-length': gzipped.length },
        timeout: POST_TIMEOUT_MS,
        minVersion: 'TLSv1.2',
        ...(ca === null ? {} : { ca: [...rootCertificates, ca] }),
        agent: false,
      },
      (response) => {
        response.resume();
        resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300 ? 'posted' : `failed: HTTP ${response.statusCode}`);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(`failed: ${error.message.slice(0, 200)}`));
    req.end(gzipped);
  });
}

/**
 * docs/gateway.md §4.9: the reports of `day`. A policy domain without a valid
 * `_smtp._tls` record gets none; one already reported that day gets none again (the
 * store's claim, across processes). `dryRun`: built and returned, nothing sent or claimed.
 */
export async function sendTlsReports(deps: TlsReportDeps, day: string, dryRun: boolean): Promise<TlsReportOutcome[]> {
  const rows = await deps.store.tlsSessionsOf(day);
  const domains = [...new Set(rows.map((row) => row.policyDomain))];
  const outcomes: TlsReportOutcome[] = [];
  for (const policyDomain of domains) {
    let texts: string[];
    try {
      texts = (await deps.resolveTxt(`_smtp._tls.${policyDomain}`)).map((parts) => parts.join(''));
    } catch {
      continue;
    }
    const record = parseTlsRptRecord(texts);
    if (record === null) continue;
    const reportId = `${day}.${randomUUID()}@${deps.domain}`;
    const report = buildTlsReport({ organizationName: deps.domain, contactInfo: `postmaster@${deps.domain}`, reportId, day, policyDomain, rows: rows.filter((row) => row.policyDomain === policyDomain) });
    const gzipped = gzipReport(report);
    if (gzipped === null) {
      deps.log({ event: 'tls_report_too_large', policyDomain, day });
      continue;
    }
    if (dryRun) {
      outcomes.push({ policyDomain, reportId, rua: record.rua, results: record.rua.map(() => 'dry-run'), report });
      continue;
    }
    const fileName = reportFileName(deps.domain, policyDomain, day, reportId.split('@')[0] as string);
    const mails = new Map<string, QueuedOutbound>();
    for (const uri of record.rua) {
      if (!uri.startsWith('mailto:')) continue;
      const to = uri.slice('mailto:'.length);
      const messageId = randomBytes(16).toString('base64url');
      const mail = buildReportMail({ from: `tlsrpt-noreply@${deps.domain}`, to, submitter: deps.domain, policyDomain, reportId, fileName, gzipped, now: deps.now, messageId });
      // RFC 8460 §5.3: the report mail is DKIM-signed by the submitter's domain.
      const signed = await signWithDkim(mail, deps.domain, deps.dkim, deps.now);
      mails.set(uri, {
        id: randomBytes(16).toString('base64url'),
        sender: `tlsrpt-noreply@${deps.domain}`,
        recipients: [to],
        message: Uint8Array.from(signed),
        exposed: true,
        createdAt: deps.now.toISOString(),
        giveUpAt: new Date(deps.now.getTime() + 2 * 86_400_000).toISOString(),
        attempts: 0,
        nextAttemptAt: deps.now.toISOString(),
        lastError: '',
        requireTls: false,
      });
    }
    // docs/gateway.md §4.9.1: each https: rua is a POST kept until answered 2xx or 24 h have
    // passed; held by this process (its lease) for the first attempt, right after the claim.
    const posts = new Map<string, TlsReportPost>();
    for (const uri of record.rua) {
      if (!uri.startsWith('https:')) continue;
      posts.set(uri, {
        id: randomBytes(16).toString('base64url'),
        reportId,
        policyDomain,
        url: uri,
        body: Uint8Array.from(gzipped),
        createdAt: deps.now.toISOString(),
        giveUpAt: new Date(deps.now.getTime() + TLS_POST_RETRY_MS).toISOString(),
        attempts: 0,
        nextAttemptAt: new Date(deps.now.getTime() + TLS_POST_LEASE_MS).toISOString(),
        lastError: '',
      });
    }
    // RFC 8460 §4: one report per day and domain, whichever process or command sends it. The
    // mark, the mails and the POSTs enter the store in one transaction: a crash before it
    // leaves the day to report again, after it the queue delivers the mails and the retry job
    // the POSTs (docs/gateway.md §4.9, §4.9.1).
    if (!(await deps.store.claimTlsReport(day, policyDomain, reportId, deps.now.toISOString(), [...mails.values()], [...posts.values()]))) continue;
    const results: string[] = [];
    for (const uri of record.rua) results.push(mails.has(uri) ? 'queued' : await attemptPost(deps, posts.get(uri)!));
    deps.log({ event: 'tls_report_sent', policyDomain, day, reportId, results });
    outcomes.push({ policyDomain, reportId, rua: record.rua, results, report });
  }
  await deps.store.purgeTlsSessions(new Date(Date.parse(`${day}T00:00:00Z`) - TLS_RPT_RETENTION_DAYS * 86_400_000).toISOString().slice(0, 10));
  return outcomes;
}

/**
 * docs/gateway.md §4.9.1: one attempt at a report's POST. Answered 2xx: done. Otherwise
 * retried later (1 min, doubled each time, at most 1 h, never past its 24 h); a failure at
 * or after those 24 h gives it up, with a log line. Returns what happened: `posted`, or
 * `failed: …` with `retry at …` or `given up`.
 */
async function attemptPost(deps: Pick<TlsReportDeps, 'store' | 'ca' | 'now' | 'log'> & { readonly post?: ReportPoster }, post: TlsReportPost): Promise<string> {
  const result = await (deps.post ?? postReport)(post.url, post.body, deps.ca);
  const attempts = post.attempts + 1;
  const fields = { policyDomain: post.policyDomain, reportId: post.reportId, url: post.url, attempts };
  if (result === 'posted') {
    await deps.store.finishTlsPost(post.id);
    if (post.attempts > 0) deps.log({ event: 'tls_report_posted', ...fields });
    return result;
  }
  const now = deps.now.getTime();
  const giveUpAt = Date.parse(post.giveUpAt);
  if (now >= giveUpAt) {
    await deps.store.finishTlsPost(post.id);
    deps.log({ event: 'tls_report_post_abandoned', ...fields, since: post.createdAt, error: result });
    return `${result}; given up`;
  }
  const backoff = Math.min(TLS_POST_FIRST_BACKOFF_MS * 2 ** (attempts - 1), TLS_POST_MAX_BACKOFF_MS);
  const next = new Date(Math.min(now + backoff, giveUpAt)).toISOString();
  await deps.store.deferTlsPost(post.id, attempts, next, result.slice(0, 500));
  deps.log({ event: 'tls_report_post_deferred', ...fields, next, error: result });
  return `${result}; retry at ${next}`;
}

/**
 * docs/gateway.md §4.9.1: the report POSTs due at `deps.now` (a failed one, or one whose
 * process died between the claim and its POST), each tried once. Every relay process with
 * `--deliver-to-mx` runs it each minute; the tls-report command before its own reports.
 */
export async function retryTlsReportPosts(deps: Pick<TlsReportDeps, 'store' | 'ca' | 'now' | 'log'> & { readonly post?: ReportPoster }): Promise<string[]> {
  const due = await deps.store.claimTlsPosts(deps.now.toISOString(), new Date(deps.now.getTime() + TLS_POST_LEASE_MS).toISOString(), TLS_POSTS_PER_RUN);
  const results: string[] = [];
  for (const post of due) results.push(await attemptPost(deps, post));
  return results;
}

/** The UTC day before `now`. */
export function yesterday(now: Date): string {
  return new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
}

export async function tlsReportCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now: Date): Promise<string> {
  const dryRun = argv.includes('--dry-run');
  const values = parse(
    argv.filter((arg) => arg !== '--dry-run'),
    { data: { type: 'string' }, store: { type: 'string' }, domain: { type: 'string' }, day: { type: 'string' }, 'outbound-resolver': { type: 'string' }, 'outbound-ca': { type: 'string' }, 'dkim-key': { type: 'string' }, 'dkim-selector': { type: 'string' } },
  );
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  if (!values.domain || !isValidDomain(values.domain.toLowerCase())) throw new RelayUsageError('--domain DOMAIN is required (the relay\'s domain)');
  const day = values.day ?? yesterday(now);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new RelayUsageError(`--day must be YYYY-MM-DD, not ${JSON.stringify(day)}`);
  let resolveTxt: (name: string) => Promise<string[][]> = (name) => dnsPromises.resolveTxt(name);
  const resolverText = values['outbound-resolver'];
  if (resolverText !== undefined) {
    const match = /^(127\.0\.0\.1|::1|\[::1\])(?::([0-9]{1,5}))?$/.exec(resolverText);
    if (match === null) throw new RelayUsageError('--outbound-resolver must be a resolver on a loopback address (127.0.0.1[:PORT])');
    const dns = new DnsClient({ host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2] ?? 53) });
    resolveTxt = (name) => dns.txt(name);
  }
  const ca = values['outbound-ca'] === undefined ? null : readFileSync(values['outbound-ca'], 'utf8');
  // Like disclosure and key-reset (docs/disclosure.md §4): a mistyped folder or a missing store is
  // named, never created; checked before the DKIM key, which a relay's data folder makes at start.
  const store = await openCommandStore(storeOf(values.store, env), values.data);
  // docs/gateway.md §4.4: the relay's key, as the relay itself takes it (DIR/dkim unless given).
  const dkimGiven = dkimOption(values['dkim-key'], values['dkim-selector']);
  let dkim: DkimKey;
  try {
    dkim = dkimGiven === null ? ensureDkimKey(values.data, now) : readDkimKey(dkimGiven.keyFile, dkimGiven.selector);
  } catch (error) {
    await store.close();
    throw new RelayUsageError(`--dkim-key ${dkimGiven?.keyFile ?? ''}: ${(error as Error).message.slice(0, 200)}`);
  }
  const domain = values.domain.toLowerCase();
  try {
    const deps = { store, domain, dkim, resolveTxt, ca, now, log: () => {} };
    // docs/gateway.md §4.9.1: the POSTs still due, before the day's reports.
    if (!dryRun) await retryTlsReportPosts(deps);
    const outcomes = await sendTlsReports(deps, day, dryRun);
    return JSON.stringify({ day, dryRun, reports: outcomes }, null, 2) + '\n';
  } finally {
    await store.close();
  }
}
