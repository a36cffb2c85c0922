// POST /v1/outbound (docs/gateway.md §4.2, docs/api.md §8.6): an enrolled stick's
// message to outside addresses, checked and handed synchronously to the smarthost.
// The relay stores nothing of it; the answer carries the facts of the sent copy.

import type { Hono } from 'hono';
import { parseAddress } from '../../api/address.js';
import type { SmtpOutboundFacts } from '../../api/facts.js';
import { OutboundRequestSchema, type OutboundQueuedResponse, type OutboundResponse } from '../../api/outbound.js';
import { API_ROUTES } from '../../api/routes.js';
import { headerValue, parseHeaderFields, splitHeaderAndBody } from '../../api/mime-fields.js';
import { findArrivedCiphertext } from './inbound-mime.js';
import { isEncryptedOpenPgpMessage } from '../ciphertext-check.js';
import { RelayHttpError } from '../http-error.js';
import { REPLAY_HEADER, replayAnswer, requestSha256 } from '../idempotency.js';
import { parseJsonBody } from '../json-body.js';
import { deviceAuth } from '../middleware/device-auth.js';
import { rateLimit, type TokenBuckets } from '../middleware/rate-limit.js';
import { readBody } from '../middleware/read-body.js';
import type { RelayDeps } from '../relay-deps.js';
import type { RelayEnv } from '../relay-env.js';
import type { SubmissionRecord } from '../store/relay-store.js';
import { signWithDkim, type DkimKey } from './dkim.js';
import { sanitizedReply } from './bounce.js';
import { retryDelayMs, type RetryPolicy } from './outbound-queue.js';
import { deliverToSmarthost, SmarthostError, type SmarthostConfig } from './smarthost.js';

export interface OutboundDeps {
  /** null: the relay has no --smarthost, outbound mail is refused (503). */
  readonly smarthost: SmarthostConfig | null;
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

export function mountOutbound(app: Hono<RelayEnv>, deps: RelayDeps, buckets: TokenBuckets, outbound: OutboundDeps): void {
  const maxBody = Math.ceil((deps.limits.maxMessageBytes * 4) / 3) + 64 * 1024;
  app.post(
    API_ROUTES.outbound.path,
    readBody(maxBody),
    deviceAuth({ store: deps.store, domain: deps.domain, clock: deps.clock, requireEnrolled: true }),
    rateLimit(buckets, deps.clock),
    async (c) => {
      const account = c.get('device').account;
      if (account === undefined) throw new Error('deviceAuth let an unenrolled device through');
      const request = parseJsonBody(c.get('body'), OutboundRequestSchema);
      if (outbound.smarthost === null) throw new RelayHttpError(503, 'outbound_disabled', 'this relay has no smarthost: it does not send mail to other services');
      // docs/api.md §8.10: a retry of a message already handed over is answered again, not sent twice.
      const sha256 = request.idempotencyKey === undefined ? '' : requestSha256(c.get('body'));
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
      if (earlier !== undefined) return replay(earlier);
      const message = Buffer.from(request.message, 'base64url');
      if (message.length > deps.limits.maxMessageBytes) {
        throw new RelayHttpError(413, 'message_too_large', `the message is ${message.length} bytes; this relay accepts at most ${deps.limits.maxMessageBytes}`);
      }
      const recipients = [...new Set(request.to)];
      if (recipients.length > deps.limits.maxRecipients) throw new RelayHttpError(400, 'too_many_recipients', `at most ${deps.limits.maxRecipients} recipients per message`);
      const inside = recipients.filter((address) => parseAddress(address)?.domain === deps.domain);
      if (inside.length > 0) {
        throw new RelayHttpError(422, 'internal_recipients', `addresses of this relay go through POST /v1/messages, not the gateway: ${inside.join(', ')}`);
      }
      const text = message.toString('latin1');
      const from = singleFromAddress(headerValue(parseHeaderFields(splitHeaderAndBody(text).headerText), 'From'));
      if (from !== account.address) {
        throw new RelayHttpError(403, 'sender_mismatch', `the From: address must be your own (${account.address})`);
      }
      const ciphertext = findArrivedCiphertext(text);
      const encrypted = ciphertext !== null && (await isEncryptedOpenPgpMessage(ciphertext.armoredMessage));
      if (!request.exposed && !encrypted) {
        throw new RelayHttpError(400, 'not_encrypted', 'the message is readable: send it as PGP/MIME, or set exposed: true once the user allowed a readable message');
      }
      if (request.exposed && encrypted) {
        throw new RelayHttpError(400, 'exposed_mismatch', 'exposed: true, but the message is encrypted: set exposed: false');
      }
      if (request.exposed && outbound.encryptedOnly) {
        throw new RelayHttpError(403, 'exposed_refused', 'this relay sends only encrypted mail to other services (--outbound-encrypted-only)');
      }

      const sentAt = deps.clock().toISOString();
      // docs/gateway.md §4.4: signed with the domain's DKIM key, so receivers can check it came from here.
      const signed = outbound.dkim === null ? message : await signWithDkim(message, deps.domain, outbound.dkim);
      let delivery;
      try {
        delivery = await deliverToSmarthost(outbound.smarthost, { from: account.address, to: recipients }, signed);
      } catch (error) {
        if (!(error instanceof SmarthostError)) throw error;
        outbound.log({ event: 'outbound_failed', kind: error.kind, recipients: recipients.length, error: sanitizedReply(error.message) });
        if (error.kind === 'unreachable' && outbound.queue !== null) {
          // docs/gateway.md §4.7: deferred, so kept durably and tried again; 202 only after the commit.
          const now = deps.clock();
          const retry = outbound.queue.retry;
          const queued = {
            id: deps.randomId(),
            sender: account.address,
            recipients,
            message: Uint8Array.from(signed),
            exposed: request.exposed,
            createdAt: now.toISOString(),
            giveUpAt: new Date(now.getTime() + retry.giveUpAfterMs).toISOString(),
            attempts: 1,
            nextAttemptAt: new Date(now.getTime() + retryDelayMs(1, retry)).toISOString(),
            lastError: sanitizedReply(error.smtpReply ?? error.message),
          };
          signed.fill(0);
          message.fill(0);
          await deps.store.enqueueOutbound(queued);
          const body: OutboundQueuedResponse = { id: queued.id, queued: { reason: queued.lastError, nextAttemptAt: queued.nextAttemptAt, giveUpAt: queued.giveUpAt } };
          // docs/api.md §8.10: a retry of this request is answered this 202 again, not queued twice.
          const taken = await rememberAnswer(body);
          if (taken !== undefined) {
            await deps.store.finishOutbound(queued.id, null); // a concurrent twin was queued first
            return replay(taken);
          }
          outbound.queue.wake();
          return c.json(body, 202);
        }
        signed.fill(0);
        message.fill(0);
        if (error.kind === 'refused') throw new RelayHttpError(502, 'smarthost_refused', `the smarthost refused the message: ${sanitizedReply(error.message)}`);
        throw new RelayHttpError(504, 'smarthost_unreachable', `the smarthost did not take the message: ${sanitizedReply(error.message)}`);
      }
      signed.fill(0);
      message.fill(0);
      const facts: SmtpOutboundFacts = {
        route: 'smtp-outbound',
        sentAt,
        peer: { host: outbound.smarthost.host, ip: delivery.peerIp },
        hops: [{ from: outbound.hostname, by: outbound.smarthost.host, tls: delivery.tls, verifiedByRelay: true }],
        relayHeldPlaintext: request.exposed,
        sentEncrypted: !request.exposed,
      };
      outbound.log({ event: 'outbound_sent', recipients: recipients.length, bytes: message.length, tls: delivery.tls?.version ?? null, exposed: request.exposed });
      const body: OutboundResponse = { id: deps.randomId(), facts, smarthostResponse: delivery.response };
      // Recorded after the smarthost's 250: only a relay crash in between can hand a retry over again (docs/api.md §8.10).
      const taken = await rememberAnswer(body);
      if (taken !== undefined) return replay(taken);
      return c.json(body);
    },
  );
}
