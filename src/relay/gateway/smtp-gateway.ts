// The inbound SMTP gateway (docs/gateway.md §3): accepts mail from outside servers
// for enrolled addresses of --domain, verifies DKIM/SPF/DMARC with mailauth through
// an injectable resolver, records the transport facts and stores the message sealed
// to each recipient. Every refusal happens during the SMTP session.

import { PerIpLimits } from './per-ip-limits.js';
import type { TLSSocket } from 'node:tls';
import { authenticate } from 'mailauth';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import addressparser from 'nodemailer/lib/addressparser';
import { OPERATOR_LOCAL_PARTS, parseAddress } from '../../api/address.js';
import { AuthResultSchema, type AuthFacts, type AuthResult, type SmtpHopFacts, type SmtpInboundArrivalFacts } from '../../api/facts.js';
import { headerValue, parseHeaderFields, splitHeaderAndBody } from '../../api/mime-fields.js';
import { findArrivedCiphertext, readOuterHeaders, receivedClaims, removeHeaderFields } from './inbound-mime.js';
import { isEncryptedOpenPgpMessage } from '../ciphertext-check.js';
import type { RelayStore } from '../store/relay-store.js';
import type { DnsResolver } from './dns-records.js';
import { sealToRecipient } from './seal.js';

export interface SmtpGatewayOptions {
  readonly store: RelayStore;
  /** The mail domain, lower-case. */
  readonly domain: string;
  /** Greeting name, our Received lines, mailauth's authserv-id. */
  readonly hostname: string;
  /** STARTTLS material; null: no STARTTLS offered (loopback tests only). */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | null;
  readonly maxMessageBytes: number;
  readonly maxClients: number;
  /** docs/gateway.md §3.1.1: connections one address may hold at once, and open per minute. */
  readonly maxClientsPerIp: number;
  readonly connectionsPerIpPerMinute: number;
  /** docs/gateway.md §3.1.1: a connection silent this long is closed (421). */
  readonly idleTimeoutMs: number;
  readonly maxRecipients: number;
  readonly resolver: DnsResolver;
  readonly clock: () => Date;
  readonly randomId: () => string;
  /** docs/gateway.md §3.1.1: the DATA bytes held at once by all transactions (default DATA_BUDGET_MESSAGES of the largest). */
  readonly dataBudgetBytes?: number;
  /** docs/gateway.md §3.10: the account that receives postmaster@ and abuse@ mail; absent or null: those are refused. */
  readonly postmaster?: string | null;
  /** One line per SMTP transaction: peer, sizes, results; never content, subjects or addresses' mail. */
  readonly log: (fields: Record<string, unknown>) => void;
}

/** docs/gateway.md §3.1.1: the DATA held at once is at most this many of the largest message. */
export const DATA_BUDGET_MESSAGES = 2;

type SmtpError = Error & { responseCode: number };

function smtpError(responseCode: number, text: string): SmtpError {
  return Object.assign(new Error(text), { responseCode });
}

/** RFC 8601 §2.7: a result mailauth gives that is not one of AUTH_RESULTS (src/api/facts.ts) counts as permerror. */
function authResult(text: string | undefined): AuthResult {
  const parsed = AuthResultSchema.safeParse(text);
  return parsed.success ? parsed.data : 'permerror';
}

/** docs/gateway.md §3.3: mailauth's answer as AuthFacts. */
export function authFactsFromMailauth(result: Awaited<ReturnType<typeof authenticate>>): AuthFacts {
  const dkim = (result.dkim.results ?? [])
    .filter((row) => row.signingDomain !== undefined && row.signingDomain !== '')
    .map((row) => ({
      domain: row.signingDomain as string,
      // mailauth 4.9.5 says neutral for a body hash mismatch; RFC 6376 §6.1.3 makes it a permanent failure.
      result: row.status.result === 'neutral' && row.status.comment === 'body hash did not verify' ? ('fail' as const) : authResult(row.status.result),
    }));
  const spf = result.spf ? { domain: result.spf.domain ?? '', result: authResult(result.spf.status.result) } : { domain: '', result: 'none' as const };
  const dmarc = result.dmarc
    ? { domain: result.dmarc.status.header?.from ?? result.dmarc.domain ?? '', result: authResult(result.dmarc.status.result) }
    : { domain: '', result: 'permerror' as const };
  return { dkim, spf, dmarc };
}

interface SessionFacts {
  tls: { version: string | null; cipher: string | null } | null;
}

function summarySender(mailFrom: string, ehlo: string): string {
  const envelope = parseAddress(mailFrom.toLowerCase());
  if (envelope !== null) return envelope.address;
  const postmaster = parseAddress(`postmaster@${ehlo.toLowerCase()}`);
  return postmaster?.address ?? 'postmaster@invalid';
}

export interface SmtpGateway {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export function createSmtpGateway(options: SmtpGatewayOptions): SmtpGateway {
  const sessions = new Map<string, SessionFacts>();
  const perIp = new PerIpLimits({ maxConnections: options.maxClientsPerIp, connectionsPerMinute: options.connectionsPerIpPerMinute, clock: () => options.clock().getTime() });
  const admitted = new Set<string>();
  /** docs/gateway.md §3.10: the mailbox an address of our domain is delivered to: the operator's for postmaster@ and abuse@. */
  const mailboxOf = (address: string): string => {
    const postmaster = options.postmaster ?? null;
    if (postmaster === null) return address;
    const localPart = address.slice(0, address.lastIndexOf('@'));
    return OPERATOR_LOCAL_PARTS.includes(localPart) ? postmaster : address;
  };
  const factsOf = (session: SMTPServerSession): SessionFacts => {
    let facts = sessions.get(session.id);
    if (facts === undefined) {
      facts = { tls: null };
      sessions.set(session.id, facts);
    }
    return facts;
  };

  async function accept(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const receivedAt = options.clock();
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; SPF wants a.b.c.d.
    const ip = session.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const ehlo = session.hostNameAppearsAs ?? '';
    const mailFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
    // docs/gateway.md §3.10: postmaster@ and abuse@ go to the operator's account, once however many name it.
    const recipients = [...new Set(session.envelope.rcptTo.map((rcpt) => mailboxOf(rcpt.address.toLowerCase())))];
    const tls = factsOf(session).tls;

    const auth = authFactsFromMailauth(
      await authenticate(raw, {
        ip,
        helo: ehlo,
        sender: mailFrom,
        mta: options.hostname,
        resolver: options.resolver,
        disableArc: true,
        disableBimi: true,
        trustReceived: false,
      }),
    );

    // latin1: one character per byte, so the stored bytes are the received bytes.
    const asText = raw.toString('latin1');
    // docs/gateway.md §3.9: a Caliop user's mail only ever arrives through the narrow API. Outside
    // mail whose From claims our own domain is refused unless DMARC passes for that domain.
    const fromFields = parseHeaderFields(splitHeaderAndBody(asText).headerText).filter((field) => field.name.toLowerCase() === 'from');
    if (fromFields.length > 1) {
      // RFC 5322 §3.6: one From field; with two, readers and DMARC may each take another (RFC 7489 §6.6.1).
      options.log({ event: 'smtp_refused', reason: 'several_from', ip, ehlo });
      raw.fill(0);
      throw smtpError(550, '5.7.1 A message has exactly one From field (RFC 5322 section 3.6)');
    }
    const claimsOurDomain = fromDomains(fromFields[0]?.value, auth.dmarc.domain).has(options.domain);
    if (claimsOurDomain && !(auth.dmarc.result === 'pass' && normalDomain(auth.dmarc.domain) === options.domain)) {
      options.log({ event: 'smtp_refused', reason: 'own_domain_from', ip, ehlo, dmarc: auth.dmarc.result });
      raw.fill(0);
      throw smtpError(550, `5.7.1 Mail from outside claiming to be from ${options.domain} is refused (${auth.dmarc.result === 'pass' ? `DMARC passed for ${normalDomain(auth.dmarc.domain)}, not for ${options.domain}` : 'DMARC did not pass'})`);
    }
    const ciphertext = findArrivedCiphertext(asText);
    const arrivedEncrypted = ciphertext !== null && (await isEncryptedOpenPgpMessage(ciphertext.armoredMessage));
    const headerFields = parseHeaderFields(splitHeaderAndBody(asText).headerText);
    const claimed = receivedClaims(headerFields);
    const ourHop: SmtpHopFacts = { from: `${ehlo} [${ip}]`, by: options.hostname, tls, verifiedByRelay: true };
    const facts: SmtpInboundArrivalFacts = {
      route: 'smtp-inbound',
      receivedAt: receivedAt.toISOString(),
      peer: { host: ehlo, ip },
      hops: [...claimed, ourHop],
      auth,
      relayHeldPlaintext: !arrivedEncrypted,
      arrivedEncrypted,
      // docs/gateway.md §3.8: the sender's ciphertext may carry no protected headers; keep what the outer message said.
      ...(arrivedEncrypted ? { outerHeaders: await readOuterHeaders(headerFields) } : {}),
    };

    // RFC 8601 §5: Authentication-Results claiming our authserv-id are someone else's lie.
    const ourId = options.hostname.toLowerCase();
    const cleaned = removeHeaderFields(asText, (field) => {
      if (field.name.toLowerCase() !== 'authentication-results') return false;
      return field.value.split(/[;\s]/, 1)[0]?.toLowerCase() === ourId;
    });
    const received =
      `Received: from ${ehlo} ([${ip}])\r\n\tby ${options.hostname} (caliop-relay) with ${tls === null ? 'ESMTP' : 'ESMTPS'}` +
      `${tls === null ? '' : ` (using ${tls.version ?? 'TLS'} with cipher ${tls.cipher ?? 'unknown'})`};\r\n\t${receivedAt.toUTCString().replace('GMT', '+0000')}\r\n`;
    const stored = Buffer.from(received + cleaned, 'latin1');

    const sender = summarySender(mailFrom, ehlo);
    const sealed: { recipient: string; armoredMessage: string }[] = [];
    try {
      for (const recipient of recipients) {
        const account = await options.store.accountByAddress(recipient);
        if (account === undefined) throw smtpError(450, '4.2.1 Mailbox temporarily unavailable');
        // docs/gateway.md §3.6: the sender's ciphertext as is; a readable message sealed to the recipient.
        const armoredMessage = arrivedEncrypted && ciphertext !== null ? ciphertext.armoredMessage : await sealToRecipient(stored, account.cert);
        sealed.push({ recipient, armoredMessage });
      }
    } finally {
      // The readable copy lives only in memory during DATA (docs/gateway.md §3.6).
      stored.fill(0);
      raw.fill(0);
    }
    // docs/gateway.md §3.2: the 250 goes out only after this commit.
    await options.store.storeMessages(
      sealed.map(({ recipient, armoredMessage }) => ({
        id: options.randomId(),
        sender,
        recipients: [recipient],
        size: Buffer.byteLength(armoredMessage, 'utf8'),
        facts,
        armoredMessage,
        entryIds: [options.randomId()],
      })),
    );
    options.log({
      event: 'smtp_accepted',
      ms: options.clock().getTime() - receivedAt.getTime(),
      ip,
      ehlo,
      tls: tls?.version ?? null,
      bytes: stored.length,
      recipients: recipients.length,
      arrivedEncrypted,
      dkim: auth.dkim.map((row) => row.result),
      spf: auth.spf.result,
      dmarc: auth.dmarc.result,
    });
  }

  /** The MAIL FROM parameters of the extensions the EHLO answer announces (SIZE, 8BITMIME, SMTPUTF8); RCPT TO has none (no DSN). */
  const MAIL_PARAMETERS: ReadonlySet<string> = new Set(['SIZE', 'BODY', 'SMTPUTF8']);
  const RCPT_PARAMETERS: ReadonlySet<string> = new Set();

  // docs/gateway.md §3.1.1: the DATA of all transactions held at once, each message costing a
  // few times its size while it is checked and sealed (an audit's 8 messages of 24 MB at once
  // took the relay to 1.4 GB). Past the budget a transaction is deferred (452): its sender retries.
  const dataBudget = options.dataBudgetBytes ?? DATA_BUDGET_MESSAGES * options.maxMessageBytes;
  let dataInFlight = 0;

  const server = new SMTPServer({
    name: options.hostname,
    banner: 'caliop-relay',
    secure: false,
    ...(options.tls === null ? { disabledCommands: ['AUTH', 'STARTTLS'] } : { disabledCommands: ['AUTH'], key: options.tls.key, cert: options.tls.cert }),
    authOptional: true,
    disableReverseLookup: true,
    size: options.maxMessageBytes,
    maxClients: options.maxClients,
    socketTimeout: options.idleTimeoutMs,
    closeTimeout: 1_000,
    logger: false,
    onConnect(session, callback) {
      // docs/gateway.md §3.1.1: one address never takes every slot.
      const admission = perIp.admit(session.remoteAddress);
      if (!admission.ok) {
        options.log({ event: 'smtp_refused', reason: admission.reason, ip: session.remoteAddress });
        callback(smtpError(421, admission.reason === 'too-many-connections' ? '4.7.0 Too many connections from your address, try again later' : '4.7.0 Too many connections per minute from your address, try again later'));
        return;
      }
      admitted.add(session.id);
      factsOf(session);
      callback();
    },
    onSecure(socket, session, callback) {
      const tlsSocket = socket as TLSSocket;
      factsOf(session).tls = { version: tlsSocket.getProtocol?.() ?? null, cipher: tlsSocket.getCipher?.()?.standardName ?? null };
      callback();
    },
    onClose(session) {
      sessions.delete(session.id);
      if (admitted.delete(session.id)) perIp.release(session.remoteAddress);
    },
    onMailFrom(address, _session, callback) {
      // docs/gateway.md §3.2: only the parameters the EHLO answer announced (RFC 5321 §4.1.1.2:
      // 555 for the others); a bare CR or a NUL splits no command into two.
      const unknown = unknownParameters(address.args, MAIL_PARAMETERS);
      callback(unknown === null ? undefined : smtpError(555, `5.5.4 Unsupported MAIL FROM parameter ${unknown}`));
    },
    onRcptTo(address, session, callback) {
      const unknown = unknownParameters(address.args, RCPT_PARAMETERS);
      if (unknown !== null) {
        callback(smtpError(555, `5.5.4 Unsupported RCPT TO parameter ${unknown}`));
        return;
      }
      const parsed = parseAddress(address.address.toLowerCase());
      if (parsed === null || parsed.domain !== options.domain) {
        callback(smtpError(550, '5.7.1 Relaying denied: not a local domain'));
        return;
      }
      if (session.envelope.rcptTo.length >= options.maxRecipients) {
        callback(smtpError(452, '4.5.3 Too many recipients'));
        return;
      }
      const mailbox = mailboxOf(parsed.address);
      const operatorRole = mailbox !== parsed.address;
      options.store.accountByAddress(mailbox).then(
        (account) =>
          callback(
            account !== undefined
              ? undefined
              : operatorRole
                ? // The operator named an account not enrolled (yet): the sender tries again later.
                  smtpError(450, '4.2.1 Mailbox temporarily unavailable')
                : smtpError(550, '5.1.1 No such user here'),
          ),
        () => callback(smtpError(451, '4.3.0 Temporary failure, try again later')),
      );
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      let length = 0;
      // docs/gateway.md §3.1.1: what this transaction holds of the budget of data in flight.
      let held = 0;
      let overBudget = false;
      const release = () => {
        dataInFlight -= held;
        held = 0;
      };
      stream.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (overBudget || length > options.maxMessageBytes) return;
        if (dataInFlight + chunk.length > dataBudget) {
          overBudget = true;
          for (const kept of chunks.splice(0)) kept.fill(0);
          release();
          return;
        }
        chunks.push(chunk);
        held += chunk.length;
        dataInFlight += chunk.length;
      });
      stream.on('end', () => {
        // Too big is for good (552), whatever else: checked first.
        if (stream.sizeExceeded || length > options.maxMessageBytes) {
          for (const chunk of chunks) chunk.fill(0);
          release();
          options.log({ event: 'smtp_refused', reason: 'too_large', ip: session.remoteAddress, bytes: length });
          callback(smtpError(552, `5.3.4 Message too big: this relay accepts at most ${options.maxMessageBytes} bytes`));
          return;
        }
        if (overBudget) {
          options.log({ event: 'smtp_deferred', reason: 'data_budget', ip: session.remoteAddress, bytes: length });
          callback(smtpError(452, '4.3.1 Insufficient system storage: too much mail arriving at once, try again later'));
          return;
        }
        const raw = Buffer.concat(chunks);
        for (const chunk of chunks) chunk.fill(0);
        accept(raw, session)
          .then(
            () => callback(null, '2.0.0 Ok: sealed and stored'),
            (error: unknown) => {
              options.log({ event: 'smtp_error', ip: session.remoteAddress, error: error instanceof Error ? error.message : String(error) });
              callback(error instanceof Error && 'responseCode' in error ? error : smtpError(451, '4.3.0 Temporary failure, try again later'));
            },
          )
          .finally(release);
      });
    },
  });
  server.on('error', (error: Error) => options.log({ event: 'smtp_server_error', error: error.message }));

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          const address = server.server.address();
          if (address === null || typeof address === 'string') {
            reject(new Error('SMTP server has no address'));
            return;
          }
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The first parameter of an address command that is not in `known`, quoted and cut short for
 * the reply (it may hold control characters: a bare CR, a NUL), or null when all are known.
 */
function unknownParameters(args: unknown, known: ReadonlySet<string>): string | null {
  if (args === false || args === undefined || args === null || typeof args !== 'object') return null;
  const unknown = Object.keys(args).find((key) => !known.has(key));
  return unknown === undefined ? null : JSON.stringify(unknown.slice(0, 40));
}

/** A domain as compared: lower case, no trailing dot, no brackets of a domain literal, no spaces. */
export function normalDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/**
 * docs/gateway.md §3.9: the domains a From field's addresses are in, read as mail readers read
 * them (RFC 5322: comments and spaces around the @ dropped; a display name that looks like an
 * address is a name, not the address), together with the From domain DMARC judged.
 */
export function fromDomains(value: string | undefined, dmarcDomain: string): Set<string> {
  const domains = new Set<string>();
  if (dmarcDomain !== '') domains.add(normalDomain(dmarcDomain));
  for (const { address } of flatAddresses(addressparser(value ?? ''))) {
    const at = address.lastIndexOf('@');
    if (at > 0) domains.add(normalDomain(address.slice(at + 1)));
  }
  return domains;
}

function flatAddresses(parsed: ReturnType<typeof addressparser>): { address: string }[] {
  return parsed.flatMap((entry) => ('group' in entry && Array.isArray(entry.group) ? flatAddresses(entry.group) : 'address' in entry && typeof entry.address === 'string' ? [{ address: entry.address }] : []));
}
