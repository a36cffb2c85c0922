// docs/gateway.md §4.7: the bounce a sender's stick receives when an outbound message
// failed for good: a delivery status notification (RFC 3464, multipart/report, RFC 6522)
// from the relay, with the original's header section (RFC 3462 text/rfc822-headers:
// for encrypted mail, only the outer headers, whose Subject is "..."), sealed to the
// sender like any readable arrival (seal.ts).

import type { SmtpInboundArrivalFacts, TlsFacts } from '../../api/facts.js';

/** What the smarthost or the network said; from outside, so bounded and stripped of controls. */
export function sanitizedReply(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 500);
}

/** RFC 5322 §2.1: the header section ends at the first empty line. */
function headerSectionOf(message: Uint8Array): string {
  const text = Buffer.from(message).toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  return (end === null ? text : text.slice(0, end.index)).slice(0, 64 * 1024);
}

export interface BounceInput {
  readonly domain: string;
  readonly hostname: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The queued message (its header section is quoted). */
  readonly original: Uint8Array;
  readonly createdAt: string;
  readonly now: Date;
  readonly attempts: number;
  /** `550 5.1.1 …` when the smarthost refused; the network error when it gave up. */
  readonly diagnostic: string;
  /** true: the smarthost answered 5xx; false: deferred until the give-up time. */
  readonly refused: boolean;
  readonly messageId: string;
}

/** RFC 3463: the refusal's own code (5.x.x), else 5.0.0; given up: 5.4.7 (delivery time expired). */
function statusOf(input: BounceInput): string {
  if (!input.refused) return '5.4.7';
  return /^5\d{2}[ -](5\.\d{1,3}\.\d{1,3})\b/.exec(input.diagnostic)?.[1] ?? '5.0.0';
}

export function buildBounce(input: BounceInput): Buffer {
  const boundary = `caliop-dsn-${input.messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  const diagnostic = sanitizedReply(input.diagnostic);
  const status = statusOf(input);
  const date = input.now.toUTCString().replace('GMT', '+0000');
  // DKIM-Signature stays: the report quotes the header section as it left.
  const headerSection = headerSectionOf(input.original).replace(/\r?\n/g, '\r\n');
  const why = input.refused
    ? `The next mail server refused it for good:\r\n  ${diagnostic}`
    : `The next mail server could not be reached or kept deferring it; the relay tried ${input.attempts} times since ${input.createdAt} and gave up:\r\n  ${diagnostic}`;
  const lines = [
    `From: Mail Delivery System <mailer-daemon@${input.domain}>`,
    `To: <${input.sender}>`,
    'Subject: Undelivered mail returned to sender',
    `Date: ${date}`,
    `Message-ID: <${input.messageId}@${input.domain}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your message to ${input.recipients.join(', ')} was not delivered.`,
    '',
    why,
    '',
    'This report was written by your relay, which read it (it is not end-to-end encrypted).',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${input.hostname}`,
    `Arrival-Date: ${new Date(input.createdAt).toUTCString().replace('GMT', '+0000')}`,
    '',
    ...input.recipients.flatMap((recipient, index) => [
      ...(index > 0 ? [''] : []),
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      `Status: ${status}`,
      ...(input.refused ? [`Diagnostic-Code: smtp; ${diagnostic}`] : []),
      `Last-Attempt-Date: ${date}`,
    ]),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headerSection,
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/**
 * The stored facts of a bounce: route smtp-inbound, because what it reports is an SMTP
 * reply (or its absence) the relay itself received from its smarthost; the relay wrote
 * it, so it held it readable; nothing authenticates it but the relay.
 */
export function bounceFacts(input: { now: Date; smarthostHost: string; smarthostIp: string; hostname: string; domain: string; tls: TlsFacts | null }): SmtpInboundArrivalFacts {
  return {
    route: 'smtp-inbound',
    receivedAt: input.now.toISOString(),
    peer: { host: input.smarthostHost, ip: input.smarthostIp },
    hops: [{ from: input.smarthostHost, by: input.hostname, tls: input.tls, verifiedByRelay: true }],
    auth: { dkim: [], spf: { domain: input.domain, result: 'none' }, dmarc: { domain: input.domain, result: 'none' } },
    relayHeldPlaintext: true,
    arrivedEncrypted: false,
  };
}
