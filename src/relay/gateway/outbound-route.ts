// POST /v1/outbound (docs/gateway.md §4.2, docs/api.md §8.7): an enrolled stick's
// message to outside addresses, checked and handed synchronously to the smarthost or,
// with --deliver-to-mx, to each recipient domain's MX under its TLS policy (§4.8).
// The relay stores nothing of it; the answer carries the facts of the sent copy.
// GET /v1/tls-policy/{domain} (docs/api.md §8.11): the policy lookup before a send.

import { parseAddress } from '../../api/address.js';
import type { SmtpOutboundFacts } from '../../api/facts.js';
import { OutboundRequestSchema, OutboundStreamQuerySchema, STREAMED_OUTBOUND_TYPE, type OutboundQueuedResponse, type OutboundResponse, type OutboundStatusResponse, type OutboundStreamQuery } from '../../api/outbound.js';
import type { DomainTlsPolicyResponse } from '../../api/tls-policy.js';
import { headerValue, parseHeaderFields, splitHeaderAndBody } from '../../api/mime-fields.js';
import { findArrivedCiphertext } from './inbound-mime.js';
import { isEncryptedOpenPgpMessage } from '../ciphertext-check.js';
import { RelayHttpError } from '../http-error.js';
import { REPLAY_HEADER, replayAnswer, requestSha256 } from '../idempotency.js';
import { parseJsonBody, parseWithSchema } from '../json-body.js';
import { authFor, deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { bodyPieces, readBody, readBodyOrStream, requestBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import { pathParam, routeOf, type RelayRoutes } from '../relay-routes.js';
import type { RelayEnv } from '../relay-env.js';
import type { SubmissionRecord } from '../store/relay-store.js';
import { signWithDkim, type DkimKey } from './dkim.js';
import { sanitizedReply } from './bounce.js';
import { retryDelayMs, type RetryPolicy } from './outbound-queue.js';
import { DeliveryError, type Delivery, type OutboundMessage, type OutboundTransport } from './outbound-transport.js';
import { outboundFacts } from './outbound-facts.js';
import { chunkedMessage, discardOutbound, storeStreamedOutbound } from './outbound-stream.js';
import type { Context } from 'hono';

export interface OutboundDeps {
  /** null: the relay has neither --smarthost nor --deliver-to-mx, outbound mail is refused (503). */
  readonly transport: OutboundTransport | null;
  /** --outbound-encrypted-only: exposed messages are refused (403). */
  readonly encryptedOnly: boolean;
  /** Our name in the hop facts (--smtp-hostname). */
  readonly hostname: string;
  readonly log: (fields: Record<string, unknown>) => void;
  /** Signs every outbound message (d= the relay's domain); null only in in-process tests. */
  readonly dkim: DkimKey | null;
  /** docs/gateway.md §4.7: where deferred messages wait; null: a deferral is answered 504 (in-process tests). */
  readonly queue: { readonly retry: RetryPolicy; wake(): void } | null;
}

/** The address of a From field: `Name <a@b>` or `a@b`; null when there is not exactly one. */
export function singleFromAddress(value: string | undefined): string | null {
  if (value === undefined) return null;
  const angle = [...value.matchAll(/<([^<>\s]+)>/g)].map((match) => match[1] as string);
  const candidates = angle.length > 0 ? angle : value.split(',').map((part) => part.trim());
  if (candidates.length !== 1) return null;
  return parseAddress(candidates[0] as string)?.address ?? null;
}

/**
 * docs/gateway.md §4.2: who the message says sent it is the account, and only it (RFC 5322
 * §3.6.2, §3.6.6): exactly one From field, naming the account's own address; at most one
 * Sender and no Resent-From or Resent-Sender but the account's own. A field name with spaces
 * before its colon (RFC 5322 §4.5's obsolete syntax, read by some readers as the field) is
 * refused. The relay signs what it sends with its domain's DKIM key: a second From, or a
 * Sender naming someone else, would be another person's name under that signature.
 * Null when the fields are right, else what is wrong.
 */
export function senderFieldsProblem(headerText: string, own: string): string | null {
  if (/^(?:from|sender|resent-from|resent-sender)[ \t]+:/im.test(headerText)) return 'a From, Sender or Resent- field name is followed by spaces before its colon';
  const fields = parseHeaderFields(headerText);
  const named = (name: string) => fields.filter((field) => field.name.toLowerCase() === name).map((field) => field.value);
  const froms = named('from');
  if (froms.length !== 1) return `the message has ${froms.length} From fields; exactly one, your own address, is allowed`;
  if (singleFromAddress(froms[0]) !== own) return `the From: address must be your own (${own})`;
  const senders = named('sender');
  if (senders.length > 1) return `the message has ${senders.length} Sender fields; at most one is allowed`;
  for (const [name, values] of [['Sender', senders], ['Resent-From', named('resent-from')], ['Resent-Sender', named('resent-sender')]] as const) {
    for (const value of values) if (singleFromAddress(value) !== own) return `a ${name}: field must name your own address (${own}) alone`;
  }
  return null;
}

/** docs/api.md §4.2: the request target as sent (as device-auth signs it). */
function pathAndQuery(c: Context<RelayEnv>): string {
  const url = new URL(c.req.url);
  return c.env?.incoming?.url ?? url.pathname + url.search;
}

/** docs/api.md §8.7.1: the envelope of a streamed outbound message, from its query (strict: an unknown parameter is a 400). */
function outboundQuery(url: string): OutboundStreamQuery {
  const params = new URL(url).searchParams;
  const value: Record<string, unknown> = {};
  for (const name of new Set(params.keys())) value[name] = name === 'to' || name === 'requireTlsFor' ? params.getAll(name) : params.get(name);
  return parseWithSchema(value, OutboundStreamQuerySchema);
}

export function outboundRoutes(deps: RelayDeps, buckets: TokenBuckets, outbound: OutboundDeps): Pick<RelayRoutes, 'outbound' | 'tlsPolicy' | 'outboundStatus'> {
  const maxBody = Math.ceil((deps.limits.maxMessageBytes * 4) / 3) + 64 * 1024;
  const route = routeOf(
    // docs/api.md §8.7 (JSON, the message in base64url) or §8.7.1 (the message as the body, envelope in the query).
    readBodyOrStream(maxBody, { type: STREAMED_OUTBOUND_TYPE, maxBytes: deps.limits.maxMessageBytes }),
    deviceAuth(authFor(deps, 'outbound')),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const account = c.get('device').account;
      if (account === undefined) throw new Error('deviceAuth let an unenrolled device through');
      const digest = c.get('bodyDigest');
      const streamed = digest !== undefined;
      const json = streamed ? undefined : parseJsonBody(c.get('body'), OutboundRequestSchema);
      const request: OutboundStreamQuery = json ?? outboundQuery(c.req.url);
      const transport = outbound.transport;
      if (transport === null) throw new RelayHttpError(503, 'outbound_disabled', 'this relay has no smarthost: it does not send mail to other services');
      // docs/api.md §8.10: a retry of a message already handed over is answered again, not sent twice.
      // Streamed: the envelope (path and query) and the body's digest, both signed, stand for the body.
      const sha256 =
        request.idempotencyKey === undefined ? '' : streamed ? requestSha256(new TextEncoder().encode(`${pathAndQuery(c)}\n${Buffer.from(digest).toString('hex')}`)) : requestSha256(c.get('body'));
      const replay = (record: SubmissionRecord) => {
        c.header(REPLAY_HEADER, 'true');
        return c.json(replayAnswer(record, sha256) as OutboundResponse | OutboundQueuedResponse);
      };
      /** Keeps the answer under the request's key; the record already kept when a twin was first (docs/api.md §8.10). */
      const rememberAnswer = async (body: OutboundResponse | OutboundQueuedResponse): Promise<SubmissionRecord | undefined> =>
        request.idempotencyKey === undefined
          ? undefined
          : deps.store.rememberSubmission({
              sender: account.address,
              key: request.idempotencyKey,
              requestSha256: sha256,
              response: JSON.stringify(body),
              createdAt: Math.floor(deps.clock().getTime() / 1000),
            });
      const earlier = request.idempotencyKey === undefined ? undefined : await deps.store.submissionByKey(account.address, request.idempotencyKey);
      if (earlier !== undefined) {
        if (streamed) for await (const _piece of bodyPieces(requestBody(c), deps.limits.maxMessageBytes)); // read, not kept: the answer is the recorded one
        return replay(earlier);
      }
      const whole = json === undefined ? undefined : Buffer.from(json.message, 'base64url');
      if (whole !== undefined && whole.length > deps.limits.maxMessageBytes) {
        throw new RelayHttpError(413, 'message_too_large', `the message is ${whole.length} bytes; this relay accepts at most ${deps.limits.maxMessageBytes}`);
      }
      const recipients = [...new Set(request.to)];
      if (recipients.length > deps.limits.maxRecipients) throw new RelayHttpError(400, 'too_many_recipients', `at most ${deps.limits.maxRecipients} recipients per message`);
      const inside = recipients.filter((address) => parseAddress(address)?.domain === deps.domain);
      if (inside.length > 0) {
        throw new RelayHttpError(422, 'internal_recipients', `addresses of this relay go through POST /v1/messages, not the gateway: ${inside.join(', ')}`);
      }
      const requireTlsFor = new Set(request.requireTlsFor ?? []);
      const stray = [...requireTlsFor].filter((address) => !recipients.includes(address));
      if (stray.length > 0) throw new RelayHttpError(400, 'invalid_request', `requireTlsFor names addresses not in to: ${stray.join(', ')}`);
      const checkFrom = (headerText: string) => {
        const problem = senderFieldsProblem(headerText, account.address);
        if (problem !== null) throw new RelayHttpError(403, 'sender_mismatch', problem);
      };
      const checkExposure = (encrypted: boolean) => {
        if (!request.exposed && !encrypted) {
          throw new RelayHttpError(400, 'not_encrypted', 'the message is readable: send it as PGP/MIME, or set exposed: true once the user allowed a readable message');
        }
        if (request.exposed && encrypted) {
          throw new RelayHttpError(400, 'exposed_mismatch', 'exposed: true, but the message is encrypted: set exposed: false');
        }
        if (request.exposed && outbound.encryptedOnly) {
          throw new RelayHttpError(403, 'exposed_refused', 'this relay sends only encrypted mail to other services (--outbound-encrypted-only)');
        }
      };
      const sentAt = deps.clock().toISOString();
      const nowSeconds = () => Math.floor(deps.clock().getTime() / 1000);

      // The message as it will leave, DKIM-signed (docs/gateway.md §4.4), and what it weighs.
      let message: OutboundMessage;
      let bytes: number;
      let upload: { readonly id: string; readonly dkimHeader: Buffer; readonly chunks: number } | null = null;
      if (whole !== undefined) {
        const text = whole.toString('latin1');
        checkFrom(splitHeaderAndBody(text).headerText);
        const ciphertext = findArrivedCiphertext(text);
        checkExposure(ciphertext !== null && (await isEncryptedOpenPgpMessage(ciphertext.armoredMessage)));
        message = outbound.dkim === null ? whole : await signWithDkim(whole, deps.domain, outbound.dkim);
        bytes = whole.length;
      } else {
        // docs/api.md §8.7.1: into the store chunk by chunk, the From:, the structure and the DKIM body hash checked on the way.
        const uploadId = deps.randomId();
        const stored = await storeStreamedOutbound(deps.store, requestBody(c), {
          uploadId,
          digest: digest!,
          maxBytes: deps.limits.maxMessageBytes,
          nowSeconds,
          checkHeader: checkFrom,
          dkim: outbound.dkim === null ? null : { domain: deps.domain, key: outbound.dkim, now: deps.clock() },
        });
        try {
          checkExposure(stored.encrypted);
        } catch (error) {
          await discardOutbound(deps.store, uploadId, nowSeconds());
          throw error;
        }
        upload = { id: uploadId, dkimHeader: stored.dkimHeader, chunks: stored.chunks };
        message = chunkedMessage(deps.store, uploadId, stored.dkimHeader, stored.size, stored.chunks);
        bytes = stored.size;
      }
      const forget = async () => {
        if (upload !== null) await discardOutbound(deps.store, upload.id, nowSeconds());
        else if (Buffer.isBuffer(message)) message.fill(0);
      };

      // docs/gateway.md §4.8: one SMTP transaction per group (all recipients for a smarthost, one domain each for MX).
      const delivered: Delivery[] = [];
      const failed: { recipients: string[]; requireTls: boolean; error: DeliveryError }[] = [];
      try {
        for (const group of transport.split(recipients)) {
          const requireTls = group.some((address) => requireTlsFor.has(address));
          try {
            delivered.push(await transport.deliver({ from: account.address, to: group }, message, { requireTls }));
          } catch (error) {
            if (!(error instanceof DeliveryError)) throw error;
            outbound.log({ event: 'outbound_failed', kind: error.kind, recipients: group.length, error: sanitizedReply(error.message) });
            failed.push({ recipients: group, requireTls, error });
          }
        }
      } catch (error) {
        await forget();
        throw error;
      }
      const facts: SmtpOutboundFacts | undefined = delivered.length === 0 ? undefined : outboundFacts(delivered, sentAt, outbound.hostname, transport.kind, request.exposed);
      for (const delivery of delivered) {
        outbound.log({ event: 'outbound_sent', recipients: delivery.recipients.length, bytes, streamed, tls: delivery.tls?.version ?? null, tlsPolicy: delivery.tlsPolicy, requireTls: delivery.requireTls, exposed: request.exposed });
      }
      whole?.fill(0);
      const first = failed[0];
      if (first === undefined && facts !== undefined) {
        const body: OutboundResponse = { id: deps.randomId(), facts, smarthostResponse: delivered.map((delivery) => delivery.response).join('\n') };
        // Recorded after the 250: only a relay crash in between can hand a retry over again (docs/api.md §8.10).
        const taken = await rememberAnswer(body);
        // docs/api.md §8.7.1, issue 9/13: a delivered upload's chunks are erased after the answer is on its way, not
        // before it (secure_delete of 47 MiB: ~0.45 s); a relay stopped in between leaves them to the abandoned-upload sweep.
        if (upload !== null) setImmediate(() => void forget().catch((error: unknown) => outbound.log({ event: 'outbound_discard_failed', error: sanitizedReply(String(error)) })));
        else await forget();
        if (taken !== undefined) return replay(taken);
        return c.json(body);
      }
      if (first === undefined) throw new Error('no delivery and no failure');
      const refusedOnly = delivered.length === 0 && failed.every((each) => each.error.kind === 'refused');
      if (refusedOnly || outbound.queue === null) {
        await forget();
        const what = transport.kind === 'smarthost' ? 'the smarthost' : 'the recipient\'s server';
        if (first.error.kind === 'refused') throw new RelayHttpError(502, 'smarthost_refused', `${what} refused the message: ${sanitizedReply(first.error.smtpReply ?? first.error.message)}`);
        throw new RelayHttpError(504, 'smarthost_unreachable', `${what} did not take the message: ${sanitizedReply(first.error.message)}`);
      }
      // docs/gateway.md §4.7: what was deferred (and, next to a delivery, refused) is kept durably and tried again; 202 only after the commit.
      // Streamed (docs/api.md §8.7.1): the first queued item keeps the upload's chunks, each other one a copy made in the database.
      const now = deps.clock();
      const retry = outbound.queue.retry;
      const giveUpAt = new Date(now.getTime() + retry.giveUpAfterMs).toISOString();
      const queuedIds: string[] = [];
      let nextAttemptAt = '';
      for (const each of failed) {
        const refused = each.error.kind === 'refused';
        const id = upload !== null && queuedIds.length === 0 ? upload.id : deps.randomId();
        if (upload !== null && id !== upload.id) await deps.store.copyChunks(upload.id, id, nowSeconds());
        const item = {
          id,
          sender: account.address,
          recipients: each.recipients,
          message: upload !== null ? Uint8Array.from(upload.dkimHeader) : Uint8Array.from(message as Buffer),
          ...(upload !== null ? { chunks: upload.chunks } : {}),
          exposed: request.exposed,
          createdAt: now.toISOString(),
          giveUpAt,
          // A refusal next to a delivery is tried once more at once, then bounced (§4.7).
          attempts: refused ? 0 : 1,
          nextAttemptAt: refused ? now.toISOString() : new Date(now.getTime() + retryDelayMs(1, retry)).toISOString(),
          lastError: sanitizedReply(each.error.smtpReply ?? each.error.message),
          requireTls: each.requireTls,
        };
        await deps.store.enqueueOutbound(item);
        queuedIds.push(item.id);
        if (nextAttemptAt === '' || item.nextAttemptAt < nextAttemptAt) nextAttemptAt = item.nextAttemptAt;
      }
      if (upload === null) (message as Buffer).fill(0);
      const body: OutboundQueuedResponse = {
        id: queuedIds[0] as string,
        queuedIds,
        queued: { reason: sanitizedReply(first.error.smtpReply ?? first.error.message), nextAttemptAt, giveUpAt },
        ...(facts === undefined ? {} : { delivered: facts }),
      };
      // docs/api.md §8.10: a retry of this request is answered this 202 again, not queued twice.
      const taken = await rememberAnswer(body);
      if (taken !== undefined) {
        for (const id of queuedIds) await deps.store.finishOutbound(id, null); // a concurrent twin was queued first
        return replay(taken);
      }
      outbound.queue.wake();
      return c.json(body, 202);
    },
  );
  return { outbound: route, tlsPolicy: tlsPolicyRoute(deps, buckets, outbound), outboundStatus: outboundStatusRoute(deps, buckets) };
}

/** docs/api.md §8.11: GET /v1/tls-policy/{domain}, for the stick's pre-send index. */
function tlsPolicyRoute(deps: RelayDeps, buckets: TokenBuckets, outbound: OutboundDeps): RelayRoutes['tlsPolicy'] {
  return routeOf(
    readBody(1024),
    deviceAuth(authFor(deps, 'tlsPolicy')),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const domain = pathParam(c, 'domain').toLowerCase();
      if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/.test(domain)) {
        throw new RelayHttpError(400, 'invalid_request', 'not a domain name');
      }
      if (outbound.transport === null) throw new RelayHttpError(503, 'outbound_disabled', 'this relay has no smarthost: it does not send mail to other services');
      const answer: DomainTlsPolicyResponse = await outbound.transport.policyOf(domain);
      return c.json(answer);
    },
  );
}

/** docs/api.md §8.12: GET /v1/outbound/{id}, what became of one of the caller's queued messages. */
function outboundStatusRoute(deps: RelayDeps, buckets: TokenBuckets): RelayRoutes['outboundStatus'] {
  return routeOf(
    readBody(1024),
    deviceAuth(authFor(deps, 'outboundStatus')),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const account = c.get('device').account;
      if (account === undefined) throw new Error('deviceAuth let an unenrolled device through');
      const id = pathParam(c, 'id');
      const notFound = () => new RelayHttpError(404, 'not_found', 'no queued message of yours has this id (or its report expired)');
      if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw notFound();
      const queued = await deps.store.queuedOutboundById(account.address, id);
      if (queued !== undefined) {
        const answer: OutboundStatusResponse = {
          id,
          state: 'queued',
          queued: { reason: queued.lastError.slice(0, 500), nextAttemptAt: queued.nextAttemptAt, giveUpAt: queued.giveUpAt, attempts: queued.attempts },
        };
        return c.json(answer);
      }
      const report = await deps.store.outboundReport(account.address, id);
      if (report === undefined) throw notFound();
      const answer: OutboundStatusResponse =
        report.state === 'delivered'
          ? { id, state: 'delivered', at: report.at, facts: JSON.parse(report.detail) as SmtpOutboundFacts }
          : { id, state: 'bounced', at: report.at, reason: report.detail.slice(0, 500) };
      return c.json(answer);
    },
  );
}
