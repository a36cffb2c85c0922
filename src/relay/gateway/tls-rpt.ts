// SMTP TLS Reporting (RFC 8460), docs/gateway.md §4.9: what the relay saw of its TLS
// sessions with a recipient domain's MX under that domain's policy (MTA-STS or DANE),
// one report per policy domain and UTC day, sent to the addresses the domain publishes
// in `_smtp._tls.DOMAIN` (rua=mailto: by mail, DKIM-signed; rua=https: by POST).

import { gzipSync } from 'node:zlib';

/** RFC 8460 §4.3: the failure types the relay can tell apart (result-type). */
export const TLS_RPT_FAILURES = [
  'starttls-not-supported',
  'certificate-host-mismatch',
  'certificate-expired',
  'certificate-not-trusted',
  'validation-failure',
  'tlsa-invalid',
  'dnssec-invalid',
  'dane-required',
  'sts-policy-fetch-error',
  'sts-policy-invalid',
  'sts-webpki-invalid',
] as const;
export type TlsRptFailure = (typeof TLS_RPT_FAILURES)[number];

/** RFC 8460 §4.4: policy-type. */
export type TlsRptPolicyType = 'sts' | 'tlsa' | 'no-policy-found';

/** One TLS session (or its failure) with an MX host, as mx-delivery.ts saw it. */
export interface TlsSession {
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly policyDomain: string;
  readonly policyType: TlsRptPolicyType;
  /** RFC 8460 §4.4 policy-string: the MTA-STS policy lines, or the TLSA records in presentation form. */
  readonly policyStrings: readonly string[];
  /** RFC 8460 §4.4 mx-host: the MTA-STS policy's mx patterns, or the DANE host. */
  readonly mxHosts: readonly string[];
  /** 'success', or the failure type. */
  readonly result: 'success' | TlsRptFailure;
  readonly sendingIp: string;
  readonly receivingMx: string;
  readonly receivingIp: string;
}

/** One aggregated row of the store (per day, policy domain, policy, result, hosts). */
export interface TlsSessionCount extends TlsSession {
  readonly count: number;
}

/** RFC 8460 §3: at most this many rua are used (each gets its own copy). */
export const MAX_RUA = 5;
/** The JSON of one report before compression, at most (a domain with many MX and failure kinds stays far below). */
export const MAX_REPORT_BYTES = 1024 * 1024;
/** failure-details entries per policy, at most. */
const MAX_FAILURE_DETAILS = 100;

/** RFC 8460 §3: `v=TLSRPTv1; rua=mailto:a@b,https://c/d`; null when the domain publishes no valid record. */
export function parseTlsRptRecord(texts: readonly string[]): { rua: string[] } | null {
  const records = texts.filter((text) => /^v=TLSRPTv1\s*(;|$)/.test(text));
  // §3: several records: none is used.
  if (records.length !== 1) return null;
  let rua: string[] | null = null;
  for (const field of (records[0] as string).split(';').slice(1)) {
    const at = field.indexOf('=');
    if (at <= 0) continue;
    if (field.slice(0, at).trim() !== 'rua') continue;
    rua = field
      .slice(at + 1)
      .split(',')
      .map((uri) => uri.trim())
      .filter((uri) => /^mailto:[^@\s,;]+@[A-Za-z0-9.-]+$/.test(uri) || /^https:\/\/[^\s,;]+$/.test(uri));
  }
  if (rua === null || rua.length === 0) return null;
  return { rua: rua.slice(0, MAX_RUA) };
}

export interface TlsReportInput {
  readonly organizationName: string;
  readonly contactInfo: string;
  readonly reportId: string;
  readonly day: string;
  readonly policyDomain: string;
  readonly rows: readonly TlsSessionCount[];
}

/** RFC 8460 §4: the JSON report of one policy domain for one UTC day. */
export function buildTlsReport(input: TlsReportInput): Record<string, unknown> {
  const byPolicy = new Map<string, TlsSessionCount[]>();
  for (const row of input.rows) {
    const key = JSON.stringify([row.policyType, row.policyStrings, row.mxHosts]);
    byPolicy.set(key, [...(byPolicy.get(key) ?? []), row]);
  }
  const policies = [...byPolicy.values()].map((rows) => {
    const first = rows[0] as TlsSessionCount;
    const failures = rows.filter((row) => row.result !== 'success');
    return {
      policy: {
        'policy-type': first.policyType,
        ...(first.policyStrings.length > 0 ? { 'policy-string': [...first.policyStrings] } : {}),
        'policy-domain': input.policyDomain,
        ...(first.mxHosts.length > 0 ? { 'mx-host': [...first.mxHosts] } : {}),
      },
      summary: {
        'total-successful-session-count': rows.filter((row) => row.result === 'success').reduce((sum, row) => sum + row.count, 0),
        'total-failure-session-count': failures.reduce((sum, row) => sum + row.count, 0),
      },
      ...(failures.length > 0
        ? {
            'failure-details': failures.slice(0, MAX_FAILURE_DETAILS).map((row) => ({
              'result-type': row.result,
              ...(row.sendingIp !== '' ? { 'sending-mta-ip': row.sendingIp } : {}),
              'receiving-mx-hostname': row.receivingMx,
              ...(row.receivingIp !== '' ? { 'receiving-ip': row.receivingIp } : {}),
              'failed-session-count': row.count,
            })),
          }
        : {}),
    };
  });
  return {
    'organization-name': input.organizationName,
    'date-range': { 'start-datetime': `${input.day}T00:00:00Z`, 'end-datetime': `${input.day}T23:59:59Z` },
    'contact-info': input.contactInfo,
    'report-id': input.reportId,
    policies,
  };
}

/** RFC 8460 §5.1: submitter!policy-domain!begin-timestamp!end-timestamp[!unique-id].json.gz */
export function reportFileName(submitter: string, policyDomain: string, day: string, uniqueId: string): string {
  const begin = Date.parse(`${day}T00:00:00Z`) / 1000;
  return `${submitter}!${policyDomain}!${begin}!${begin + 86_399}!${uniqueId.replace(/[^A-Za-z0-9-]/g, '')}.json.gz`;
}

/** The gzipped report (RFC 8460 §5.1), or null when its JSON is over MAX_REPORT_BYTES. */
export function gzipReport(report: Record<string, unknown>): Buffer | null {
  const json = Buffer.from(JSON.stringify(report), 'utf8');
  if (json.length > MAX_REPORT_BYTES) return null;
  return gzipSync(json);
}

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/**
 * RFC 8460 §5.3: the report mail: multipart/report; report-type="tlsrpt", a readable part
 * and the gzipped report as application/tlsrpt+gzip, with the TLS-Report-Domain and
 * TLS-Report-Submitter headers and the Subject of §5.3. DKIM-signed by the caller.
 */
export function buildReportMail(input: { from: string; to: string; submitter: string; policyDomain: string; reportId: string; fileName: string; gzipped: Buffer; now: Date; messageId: string }): Buffer {
  const boundary = `caliop-tlsrpt-${input.messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  const lines = [
    `From: TLS reporting <${input.from}>`,
    `To: <${input.to}>`,
    `Subject: Report Domain: ${input.policyDomain} Submitter: ${input.submitter} Report-ID: <${input.reportId}>`,
    `Date: ${input.now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${input.messageId}@${input.submitter}>`,
    `TLS-Report-Domain: ${input.policyDomain}`,
    `TLS-Report-Submitter: ${input.submitter}`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `This is an aggregate TLS report from ${input.submitter} for ${input.policyDomain} (RFC 8460).`,
    '',
    `--${boundary}`,
    `Content-Type: application/tlsrpt+gzip; name="${input.fileName}"`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${input.fileName}"`,
    '',
    base64Lines(input.gzipped),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
