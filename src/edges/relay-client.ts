// The client of the narrow API (docs/api.md): signs every request with the device
// key, checks the relay's certificate pin before a single byte of the request is
// sent, validates every response with the shared schemas, and maps failures to
// rows of the error table (src/errors.ts, exit codes 30-38).

import { ed25519 } from '@noble/curves/ed25519.js';
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { RELEASE_BUILD } from '../build-facts.js';
import { PinMismatch, PinnedAgent } from './pinned-agent.js';
import { randomSmallBytes } from './random.js';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { fromBase64url, toBase64url } from '../api/base64url.js';
import { OutboundAnswerSchema, OutboundRequestSchema, OutboundStatusResponseSchema, OutboundStreamQuerySchema, STREAMED_OUTBOUND_TYPE, type OutboundAnswer, type OutboundStatusResponse } from '../api/outbound.js';
import { routePath, type ApiRouteName, API_ROUTES } from '../api/routes.js';
import { DomainTlsPolicyResponseSchema, type DomainTlsPolicyResponse } from '../api/tls-policy.js';
import { signRequest, type Sha256Hex } from '../api/request-signing.js';
import { deriveSessionKey, macRequest, sessionKeyInfo, sessionNeedsRenewal } from '../api/relay-session.js';
import { newX25519KeyPair, runtimeSessionMac, x25519PublicBytes, x25519Shared } from '../api/session-x25519.js';
import {
  MailboxAckRequestSchema,
  MailboxAckResponseSchema,
  MailboxPageResponseSchema,
  type MailboxAckResponse,
  type MailboxPageResponse,
  CertResponseSchema,
  type CertResponse,
  DevicesResponseSchema,
  RevokeDeviceResponseSchema,
  type DevicesResponse,
  type RevokeDeviceResponse,
  EnrolRequestSchema,
  EnrolResponseSchema,
  ErrorBodySchema,
  ListResponseSchema,
  MessageResponseSchema,
  OpenSessionRequestSchema,
  OpenSessionResponseSchema,
  PROTOCOL_LIMITS,
  RelayInfoSchema,
  STREAMED_CIPHERTEXT_TYPE,
  SubmitRequestSchema,
  SubmitResponseSchema,
  SubmitStreamQuerySchema,
  UpdateCertRequestSchema,
  type EnrolResponse,
  type ListResponse,
  type MessageResponse,
  type RelayInfo,
  type SubmitResponse,
} from '../api/schemas.js';
import { isValidPin } from '../api/spki-pin.js';
import { RequestPacer } from '../core/request-pacing.js';
import { CaliopError, type ErrorCode } from '../errors.js';

export interface RelayClientOptions {
  /** The relay's base URL, `https://host[:port]` (`http://` only for loopback tests). */
  readonly url: string;
  /** `sha256/<base64>` SPKI pin (docs/api.md §9); undefined: the system's CAs decide. */
  readonly pin?: string | undefined;
  /** The device's Ed25519 secret key (32 bytes). Not copied: the caller owns and zeroes it. */
  readonly deviceSecretKey: Uint8Array;
  /** The relay's domain if known; otherwise read once from GET /v1/relay. */
  readonly domain?: string | undefined;
  readonly now?: () => Date;
  /** 16-64 base64url characters, never repeated (docs/api.md §4.1). */
  readonly randomNonce?: () => string;
  /** Per request, connection included. Default 30 s (defaultTimeoutMs). */
  readonly timeoutMs?: number;
  /**
   * docs/api.md §4.6.4: authenticate the mail routes in a session (opened lazily, one extra
   * request) when the relay announces them; for a client that makes several requests (sync,
   * the interface, the bench). Default false: every request signed (one-shot commands).
   */
  readonly sessions?: boolean;
}

/** docs/api.md §4.6: a session this process holds, in memory only (never on the stick). */
interface HeldSession {
  readonly id: string;
  readonly key: Uint8Array;
  /** Unix seconds. */
  readonly openedAt: number;
  readonly expiresAt: number;
}

/**
 * The sessions of this process, by relay and device key: the interface's syncs, each with a new
 * client, share one session until it is renewed. Memory only; forgotten when the process ends.
 */
const heldSessions = new Map<string, HeldSession>();

/** docs/api.md §4.6.4: the relay's answers after which a new session is opened once and the request sent once more. */
const SESSION_GONE = new Set(['session_unknown', 'session_expired']);

/** The relay's own error answer, kept as the `cause` of the CaliopError the client throws. */
/** How long a 429's Retry-After may be for the client to wait it out, and how many times. */
const MAX_RATE_WAIT_S = 10;
const MAX_RATE_WAITS = 5;

/** RFC 8410 §7: a raw 32-byte Ed25519 private key as PKCS #8, for node:crypto. */
function ed25519KeyObject(secretKey: Uint8Array): KeyObject {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([prefix, secretKey]), format: 'der', type: 'pkcs8' });
}

/**
 * docs/api.md §4.1: the runtime's Ed25519 signer, the key parsed once per identity (noble's
 * sign expands the key on every call). Deterministic (RFC 8032 §5.1.6): the same bytes as
 * noble's (test/relay/request-signing.test.ts).
 */
export function ed25519Signer(secretKey: Uint8Array): (message: Uint8Array) => Uint8Array {
  return signerOf(ed25519KeyObject(secretKey));
}

function signerOf(key: KeyObject): (message: Uint8Array) => Uint8Array {
  return (message) => new Uint8Array(cryptoSign(null, message, key));
}

/**
 * The body digest of the signed string (docs/api.md §4.2) by the runtime's own SHA-256
 * (OpenSSL under Node, BoringSSL under Bun): the same hex as noble's, several times faster
 * on a message body (test/relay/request-signing.test.ts checks both agree).
 */
export const runtimeSha256Hex: Sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');

export class RelayErrorResponse extends Error {
  override readonly name = 'RelayErrorResponse';
  constructor(
    readonly status: number,
    /** The relay's error code (docs/api.md §5.2), e.g. `unknown_device`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** docs/api.md §8.2.1: a body sent as a stream, its size and SHA-256 known before. */
interface UploadBody {
  readonly type: string;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly open: () => AsyncIterable<Uint8Array>;
}

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** What a streamed body's consumer returned (a 2xx answer to a request made with `streamed`). */
  readonly consumed?: unknown;
}

/**
 * docs/api.md §8.5.1: a 2xx body read as a stream of exactly `size` bytes, handed to
 * `consume` chunk by chunk (never held whole); more or fewer bytes than announced fail.
 */
interface StreamedBody {
  readonly size: number;
  readonly consume: (chunks: AsyncIterable<Uint8Array>) => Promise<unknown>;
}

/** docs/api.md §4.4: each request, answer included, ends within this unless the caller names another. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Test suites only (docs/api.md §4.4): a shorter default timeout, in ms, so that a test of
 * the timeout (test/hostile/hostile-relay.test.ts, slow_stream) waits 3 s, not 30. Dead
 * code in a release build (src/build-facts.ts TEST_ONLY_ENVIRONMENT), like CALIOP_UNSAFE_TEST_KDF.
 */
export const UNSAFE_TEST_RELAY_TIMEOUT_ENV = 'CALIOP_UNSAFE_TEST_RELAY_TIMEOUT_MS';

/** The client's timeout when its caller names none: 30 s, or the test switch's value outside a release build. */
export function defaultTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  if (RELEASE_BUILD) return DEFAULT_TIMEOUT_MS;
  const value = env[UNSAFE_TEST_RELAY_TIMEOUT_ENV];
  return value !== undefined && /^[1-9][0-9]{0,6}$/.test(value) ? Number(value) : DEFAULT_TIMEOUT_MS;
}

/** Largest response the client reads (a full message plus JSON framing): a page or one message. */
const MAX_RESPONSE_BYTES = PROTOCOL_LIMITS.maxMessageBytes + 1024 * 1024;
const MIB = 1024 * 1024;
/** Time added to a request's timeout per MiB sent or received. */
const MS_PER_MIB = 1000;
/** Every other answer (info, cert, list, ack, submit receipts, devices) is small: a hostile relay gets no more. */
const SMALL_RESPONSE_BYTES = 4 * 1024 * 1024;
const LARGE_RESPONSE_ROUTES: ReadonlySet<ApiRouteName> = new Set(['mailboxPage', 'fetch']);
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL']);

/** Checks a request body with the schema the relay will use (docs/api.md §5.2), before signing it. */
function checkRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new CaliopError('usage', `${where}${issue?.message ?? 'invalid request'}`, { hint: 'check the addresses and the message; see docs/api.md §3 and §8.2' });
  }
  return result.data;
}

export class RelayClient {
  readonly #base: URL;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #secretKey: Uint8Array;
  readonly #publicKey: Uint8Array;
  readonly #sign: (message: Uint8Array) => Uint8Array;
  readonly #now: () => Date;
  readonly #randomNonce: () => string;
  readonly #timeoutMs: number;
  #domain: string | undefined;
  /** docs/api.md §4.4: the relay's published rate limit, planned ahead (undefined: not published). */
  #pacer: RequestPacer | undefined;
  #limitsAsked = false;
  /** When each signed request was sent before the limits were known (at most the first few). */
  readonly #sentBeforeLimits: number[] = [];
  /** The device's public key, base64url (docs/api.md §4.1 Caliop-Device). */
  readonly devicePublicKey: string;
  /** docs/api.md §4.6.4: sessions wanted; undefined once the relay is known not to serve them. */
  #sessionsWanted: boolean;
  /** The relay's announced session lifetime (GET /v1/relay); null: none announced; undefined: not asked yet. */
  #sessionLifetime: number | null | undefined;
  /** An opening under way, shared by the requests that wait for it. */
  #opening: Promise<HeldSession | undefined> | undefined;

  constructor(options: RelayClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new CaliopError('relay_not_configured', `the relay URL ${JSON.stringify(options.url)} is not a URL`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new CaliopError('relay_not_configured', `the relay URL must start with https:// (not ${base.protocol})`);
    }
    if (options.pin !== undefined && !isValidPin(options.pin)) {
      throw new CaliopError('relay_not_configured', 'the relay pin must look like sha256/<44 base64 characters>');
    }
    if (options.deviceSecretKey.length !== 32) throw new TypeError('deviceSecretKey must be 32 bytes');
    this.#base = base;
    this.#secretKey = options.deviceSecretKey;
    // docs/api.md §4.4: Node's own Ed25519, the key parsed once (noble's sign expands it on every call).
    const signingKey = ed25519KeyObject(options.deviceSecretKey);
    this.#sign = signerOf(signingKey);
    this.#publicKey = new Uint8Array(createPublicKey(signingKey).export({ format: 'der', type: 'spki' }).subarray(-32));
    this.devicePublicKey = toBase64url(this.#publicKey);
    this.#now = options.now ?? (() => new Date());
    this.#randomNonce = options.randomNonce ?? (() => toBase64url(randomSmallBytes(16)));
    this.#timeoutMs = options.timeoutMs ?? defaultTimeoutMs();
    this.#domain = options.domain?.toLowerCase();
    this.#sessionsWanted = options.sessions === true;
    if (base.protocol === 'http:') {
      this.#transport = http;
      this.#agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    } else if (options.pin !== undefined) {
      this.#transport = http; // the agent makes the TLS connection itself
      this.#agent = new PinnedAgent(options.pin, this.#timeoutMs);
    } else {
      this.#transport = https;
      this.#agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    }
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** GET /v1/relay (docs/api.md §6.1). */
  async info(): Promise<RelayInfo> {
    const response = await this.#request('relayInfo', {}, { signed: false });
    const info = await this.#expect(response, 'relayInfo', RelayInfoSchema);
    this.#limitsAsked = true;
    this.#sessionLifetime = info.sessions?.lifetimeSeconds ?? null;
    const { rateBurst, ratePerMinute } = info.limits;
    if (this.#pacer === undefined && rateBurst !== undefined && ratePerMinute !== undefined) {
      this.#pacer = new RequestPacer({ burst: rateBurst, perMinute: ratePerMinute });
      // The signed requests made before the limits were known took tokens too.
      for (const sentAt of this.#sentBeforeLimits.splice(0)) this.#pacer.reserve(sentAt);
    }
    return info;
  }

  /**
   * docs/api.md §4.4, §6.1: learns the relay's rate limit (once; GET /v1/relay is not rate
   * limited), so that the requests that follow are planned. An older or unreachable relay
   * gives no plan: the 429 rule still applies. Any info() call teaches it too.
   */
  async learnLimits(): Promise<void> {
    if (this.#limitsAsked) return;
    try {
      await this.info();
    } catch (error) {
      // A relay that cannot be reached (or is not the pinned one) is reported now, not after
      // a second timeout; one that answers without limits (older) just gives no plan.
      if (!(error instanceof CaliopError) || error.code === 'relay_unreachable' || error.code === 'relay_pin_mismatch') throw error;
      this.#limitsAsked = true;
    }
  }

  async #pace(): Promise<void> {
    if (this.#pacer === undefined && !this.#limitsAsked && this.#sentBeforeLimits.length < 1000) this.#sentBeforeLimits.push(this.#now().getTime());
    const wait = this.#pacer?.reserve(this.#now().getTime()) ?? 0;
    // A wait longer than a 429 would be waited out is not waited either: the request goes,
    // and the relay's 429 reports it (§4.4: a long Retry-After is reported).
    if (wait > 0 && wait <= MAX_RATE_WAIT_S * 1000) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /**
   * POST /v1/enrolment (docs/api.md §6.2). `proofSignature` is a detached armored
   * OpenPGP signature over buildEnrolmentStatement({ address, devicePublicKey, domain }).
   */
  async enrol(request: { address: string; armoredCert: string; proofSignature: string; inviteToken?: string; deviceName?: string }): Promise<EnrolResponse> {
    const body = {
      address: request.address.toLowerCase(),
      armoredCert: request.armoredCert,
      proofSignature: request.proofSignature,
      ...(request.inviteToken === undefined ? {} : { inviteToken: request.inviteToken }),
      ...(request.deviceName === undefined ? {} : { deviceName: request.deviceName }),
    };
    const response = await this.#request('enrol', {}, { signed: true, json: checkRequest(EnrolRequestSchema, body) });
    return this.#expect(response, 'enrol', EnrolResponseSchema);
  }

  /** GET /v1/certs/:address (docs/api.md §7.1): the armored cert, or null when none is published. */
  async lookupCert(address: string): Promise<string | null> {
    return (await this.lookupDirectory(address))?.armoredCert ?? null;
  }

  /** GET /v1/certs/:address (docs/api.md §7.1) with the announcement of a key change (§6.6), when there is one. */
  async lookupDirectory(address: string): Promise<CertResponse | null> {
    const response = await this.#request('cert', { address: address.toLowerCase() }, { signed: false });
    // Only the relay's own "no such cert" is an answer; any other 404 (a wrong URL) is an error.
    if (response.status === 404 && /"cert_not_found"/.test(response.body.toString('utf8'))) return null;
    return this.#expect(response, 'cert', CertResponseSchema);
  }

  /** PUT /v1/certs/:address (docs/api.md §7.3): publishes a newer certificate of this stick's own key. */
  async updateCert(address: string, armoredCert: string): Promise<string> {
    const response = await this.#request('updateCert', { address: address.toLowerCase() }, { signed: true, json: checkRequest(UpdateCertRequestSchema, { armoredCert }) });
    return (await this.#expect(response, 'updateCert', CertResponseSchema)).armoredCert;
  }

  /** POST /v1/messages (docs/api.md §8.2). */
  async submit(request: { to: string[]; armoredMessage: string; idempotencyKey?: string }): Promise<SubmitResponse> {
    const body = {
      to: request.to.map((address) => address.toLowerCase()),
      armoredMessage: request.armoredMessage,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
    };
    const response = await this.#request('submit', {}, { signed: true, json: checkRequest(SubmitRequestSchema, body) });
    return this.#expect(response, 'submit', SubmitResponseSchema);
  }

  /**
   * POST /v1/messages with the ciphertext as a streamed body (docs/api.md §8.2.1): the
   * envelope in the signed query, the armored bytes from `open()` (called again for the
   * one retry on a stale connection), `size` and `sha256` known before (the signature
   * covers the digest). Memory: one piece of the body at a time.
   */
  async submitStream(request: { to: string[]; idempotencyKey?: string; size: number; sha256: Uint8Array; open: () => AsyncIterable<Uint8Array> }): Promise<SubmitResponse> {
    const envelope = checkRequest(SubmitStreamQuerySchema, {
      to: request.to.map((address) => address.toLowerCase()),
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
    });
    const query = new URLSearchParams();
    for (const address of envelope.to) query.append('to', address);
    if (envelope.idempotencyKey !== undefined) query.set('idempotencyKey', envelope.idempotencyKey);
    const response = await this.#request('submit', {}, { signed: true, query, upload: { type: STREAMED_CIPHERTEXT_TYPE, size: request.size, sha256: request.sha256, open: request.open } });
    return this.#expect(response, 'submit', SubmitResponseSchema);
  }

  /**
   * POST /v1/outbound (docs/api.md §8.7, docs/gateway.md §4.2): a complete RFC 5322
   * message this stick built, for outside addresses, handed by the relay to its
   * smarthost. `exposed` must be true exactly when the message is readable (the user
   * allowed it); the answer's `facts` are the sent copy's (route smtp-outbound), or,
   * when the smarthost deferred it, `queued` (the relay retries; a failure comes back
   * as a bounce in the mailbox: docs/gateway.md §4.7).
   */
  async submitOutbound(request: { envelopeTo: string[]; rawMessage: string; exposed: boolean; idempotencyKey?: string; requireTlsFor?: readonly string[] }): Promise<OutboundAnswer> {
    const body = {
      to: request.envelopeTo.map((address) => address.toLowerCase()),
      message: Buffer.from(request.rawMessage, 'utf8').toString('base64url'),
      exposed: request.exposed,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      ...(request.requireTlsFor !== undefined && request.requireTlsFor.length > 0 ? { requireTlsFor: request.requireTlsFor.map((address) => address.toLowerCase()) } : {}),
    };
    const response = await this.#request('outbound', {}, { signed: true, json: checkRequest(OutboundRequestSchema, body) });
    return this.#expect(response, 'outbound', OutboundAnswerSchema);
  }

  /**
   * POST /v1/outbound with the RFC 5322 message as a streamed body (docs/api.md §8.7.1):
   * the envelope in the signed query, the bytes from `open()` (called again for the one
   * retry on a stale connection), `size` and `sha256` known before (the signature covers
   * the digest). Memory: one piece of the body at a time.
   */
  async submitOutboundStream(request: {
    envelopeTo: string[];
    exposed: boolean;
    idempotencyKey?: string;
    requireTlsFor?: readonly string[];
    size: number;
    sha256: Uint8Array;
    open: () => AsyncIterable<Uint8Array>;
  }): Promise<OutboundAnswer> {
    const envelope = checkRequest(OutboundStreamQuerySchema, {
      to: request.envelopeTo.map((address) => address.toLowerCase()),
      exposed: request.exposed ? 'true' : 'false',
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      ...(request.requireTlsFor !== undefined && request.requireTlsFor.length > 0 ? { requireTlsFor: request.requireTlsFor.map((address) => address.toLowerCase()) } : {}),
    });
    const query = new URLSearchParams();
    for (const address of envelope.to) query.append('to', address);
    query.set('exposed', envelope.exposed ? 'true' : 'false');
    if (envelope.idempotencyKey !== undefined) query.set('idempotencyKey', envelope.idempotencyKey);
    for (const address of envelope.requireTlsFor ?? []) query.append('requireTlsFor', address);
    const response = await this.#request('outbound', {}, { signed: true, query, upload: { type: STREAMED_OUTBOUND_TYPE, size: request.size, sha256: request.sha256, open: request.open } });
    return this.#expect(response, 'outbound', OutboundAnswerSchema);
  }

  /**
   * GET /v1/tls-policy/:domain (docs/api.md §8.11): whether the relay knows that the
   * domain's published policy (DANE, MTA-STS enforce) guarantees TLS to its servers.
   */
  async tlsPolicy(domain: string): Promise<DomainTlsPolicyResponse> {
    const response = await this.#request('tlsPolicy', { domain: domain.toLowerCase() }, { signed: true });
    return this.#expect(response, 'tlsPolicy', DomainTlsPolicyResponseSchema);
  }

  /**
   * GET /v1/outbound/:id (docs/api.md §8.12): what became of a message the relay queued
   * (one of the 202's queuedIds): queued, delivered with its facts, or bounced; null when
   * the relay knows no such id of ours any more (its report expired).
   */
  async outboundStatus(id: string): Promise<OutboundStatusResponse | null> {
    const response = await this.#request('outboundStatus', { id }, { signed: true });
    if (response.status === 404 && /"not_found"/.test(response.body.toString('utf8'))) return null;
    return this.#expect(response, 'outboundStatus', OutboundStatusResponseSchema);
  }

  /** GET /v1/messages (docs/api.md §8.4): the caller's mailbox, oldest first, after `after`. */
  async list(options: { after?: string; limit?: number } = {}): Promise<ListResponse> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const response = await this.#request('list', {}, { signed: true, query });
    return this.#expect(response, 'list', ListResponseSchema);
  }

  /** GET /v1/mailbox (docs/api.md §8.8): a page of the mailbox with the ciphertexts. */
  async mailboxPage(options: { after?: string; limit?: number } = {}): Promise<MailboxPageResponse> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const response = await this.#request('mailboxPage', {}, { signed: true, query });
    return this.#expect(response, 'mailboxPage', MailboxPageResponseSchema);
  }

  /** POST /v1/mailbox/ack (docs/api.md §8.9): deletes every entry up to `through`. */
  async ackMailbox(through: string): Promise<MailboxAckResponse> {
    const response = await this.#request('mailboxAck', {}, { signed: true, json: checkRequest(MailboxAckRequestSchema, { through }) });
    return this.#expect(response, 'mailboxAck', MailboxAckResponseSchema);
  }

  /** GET /v1/devices (docs/api.md §6.4): the devices of this stick's account. */
  async devices(): Promise<DevicesResponse> {
    const response = await this.#request('devices', {}, { signed: true });
    return this.#expect(response, 'devices', DevicesResponseSchema);
  }

  /** DELETE /v1/devices/:name (docs/api.md §6.5): revokes another device of the account. */
  async revokeDevice(name: string): Promise<RevokeDeviceResponse> {
    const response = await this.#request('revokeDevice', { name }, { signed: true });
    return this.#expect(response, 'revokeDevice', RevokeDeviceResponseSchema);
  }

  /** GET /v1/messages/:id (docs/api.md §8.5). */
  async fetch(id: string): Promise<MessageResponse> {
    const response = await this.#request('fetch', { id }, { signed: true });
    return this.#expect(response, 'fetch', MessageResponseSchema);
  }

  /**
   * GET /v1/messages/:id/ciphertext (docs/api.md §8.5.1): the ciphertext of a message the
   * mailbox page listed by its `size` only, handed to `consume` as a stream of chunks (one
   * in memory at a time). The relay must send exactly `size` bytes: a different
   * Content-Length is refused before the body is read, and a body that runs past `size`
   * or ends before it makes the stream throw relay_bad_request, so `consume` never
   * completes on a partial or swollen ciphertext.
   */
  async fetchCiphertext<T>(id: string, size: number, consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>): Promise<T> {
    const response = await this.#request('ciphertext', { id }, { signed: true, streamed: { size, consume } });
    if (response.status < 200 || response.status > 299) this.#fail(response, 'ciphertext');
    return response.consumed as T;
  }

  /** DELETE /v1/messages/:id (docs/api.md §8.6). */
  async delete(id: string): Promise<void> {
    const response = await this.#request('delete', { id }, { signed: true });
    if (response.status !== 204) this.#fail(response, 'delete');
  }

  /** This process's key for the session of this relay and device (heldSessions). */
  get #sessionSlot(): string {
    return `${this.#base.origin}${this.#base.pathname} ${this.devicePublicKey}`;
  }

  /**
   * docs/api.md §4.6.4: the session to authenticate the next request with: the one held while
   * more than a fifth of its lifetime is left, else a new one; undefined when sessions are not
   * wanted or the relay does not announce them (then every request is signed).
   */
  async #currentSession(): Promise<HeldSession | undefined> {
    if (!this.#sessionsWanted) return undefined;
    if (this.#sessionLifetime === undefined) await this.learnLimits();
    if (this.#sessionLifetime === null || this.#sessionLifetime === undefined) {
      this.#sessionsWanted = false;
      return undefined;
    }
    const held = heldSessions.get(this.#sessionSlot);
    if (held !== undefined && !sessionNeedsRenewal(held, Math.floor(this.#now().getTime() / 1000))) return held;
    this.#opening ??= this.#openSession().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /** docs/api.md §4.6.1: POST /v1/session, signed by the device key; K agreed by X25519, never sent. */
  async #openSession(): Promise<HeldSession | undefined> {
    const own = newX25519KeyPair();
    const clientShare = toBase64url(x25519PublicBytes(own));
    const response = await this.#request('openSession', {}, { signed: true, json: checkRequest(OpenSessionRequestSchema, { clientShare }) });
    // A relay that announced sessions but serves none (an older one behind the same name), or one
    // that cannot record one now (507 on a full disk, docs/api.md §5.4; any 5xx): sign every
    // request of this client, as a full relay still serves them (§4.6.4).
    if (response.status === 404 || response.status >= 500) {
      this.#sessionsWanted = false;
      return undefined;
    }
    const opened = await this.#expect(response, 'openSession', OpenSessionResponseSchema);
    const relayShare = fromBase64url(opened.relayShare) as Uint8Array;
    const shared = x25519Shared(own, relayShare);
    if (shared === undefined) throw new CaliopError('relay_session_failed', "the relay's session share is not a usable X25519 key (docs/api.md §4.6.1)");
    const domain = await this.#signingDomain();
    const key = deriveSessionKey(shared, opened.session, sessionKeyInfo({ devicePublicKey: this.devicePublicKey, domain, clientShare, relayShare: opened.relayShare }));
    shared.fill(0);
    const openedAt = Math.floor(this.#now().getTime() / 1000);
    // The relay's expiry, or the announced lifetime from now if that is sooner: a relay clock ahead of ours costs a renewal, never a refusal.
    const expiresAt = Math.min(Math.floor(Date.parse(opened.expiresAt) / 1000), openedAt + (this.#sessionLifetime ?? 0));
    const session: HeldSession = { id: opened.session, key, openedAt, expiresAt };
    heldSessions.set(this.#sessionSlot, session);
    return session;
  }

  /**
   * Forgets a session the relay no longer knows (docs/api.md §4.6.4), unless another already
   * replaced it. Its key is not zeroed here: a request of this process may be about to MAC
   * with it (the relay refuses it, and that request reopens in its turn).
   */
  #dropSession(session: HeldSession): void {
    if (heldSessions.get(this.#sessionSlot) === session) heldSessions.delete(this.#sessionSlot);
  }

  /** docs/api.md §4.6: the id of the session this process holds with this relay for this device, if any (never its key). */
  get sessionId(): string | undefined {
    return heldSessions.get(this.#sessionSlot)?.id;
  }

  /**
   * docs/api.md §4.6.4: DELETE /v1/session for the session this process holds, if any, and
   * forgets it. Best effort: a session not closed ends by itself within 15 minutes.
   */
  async endSession(): Promise<void> {
    const held = heldSessions.get(this.#sessionSlot);
    if (held === undefined) return;
    this.#dropSession(held);
    try {
      // In the session it closes, not a renewed one (§4.6.4).
      await this.#request('closeSession', {}, { signed: true, session: held });
    } catch {
      // Ends by itself at its expiry.
    }
  }

  async #signingDomain(): Promise<string> {
    this.#domain ??= (await this.info()).domain.toLowerCase();
    return this.#domain;
  }

  async #request(
    route: ApiRouteName,
    params: Record<string, string>,
    options: { signed: boolean; json?: unknown; query?: URLSearchParams; streamed?: StreamedBody; upload?: UploadBody; session?: HeldSession },
  ): Promise<RawResponse> {
    const { method } = API_ROUTES[route];
    const basePath = this.#base.pathname.replace(/\/+$/, '');
    const search = options.query && [...options.query.keys()].length > 0 ? `?${options.query.toString()}` : '';
    const pathWithQuery = `${basePath}${routePath(route, params)}${search}`;
    const body: Uint8Array | UploadBody = options.upload ?? (options.json === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(options.json)));
    // docs/api.md §8.2.1: a streamed body is signed by its digest, declared in Content-Digest.
    const signedBody = body instanceof Uint8Array ? body : { sha256: body.sha256 };
    const domain = options.signed ? await this.#signingDomain() : '';
    // docs/api.md §2, §4.6.2: the routes that take a session; the others are always signed.
    const inSession = options.signed && API_ROUTES[route].session;
    let reopened = false;
    let paced = 0;
    for (let attempt = 1; ; attempt += 1) {
      const headers: Record<string, string> = { accept: options.streamed ? 'application/octet-stream, application/json' : 'application/json' };
      if (options.json !== undefined) headers['content-type'] = 'application/json';
      if (options.upload !== undefined) {
        headers['content-type'] = options.upload.type;
        headers['content-digest'] = `sha-256=:${Buffer.from(options.upload.sha256).toString('base64')}:`;
      }
      let session: HeldSession | undefined;
      if (options.signed) {
        session = inSession ? (options.session ?? (await this.#currentSession())) : undefined;
        await this.#pace();
        const request = { method, pathWithQuery, body: signedBody, domain };
        if (session !== undefined) Object.assign(headers, macRequest(request, session, this.#now(), this.#randomNonce(), runtimeSessionMac, runtimeSha256Hex));
        else Object.assign(headers, signRequest(request, this.#secretKey, this.#now(), this.#randomNonce(), this.#publicKey, this.#sign, runtimeSha256Hex));
      }
      try {
        const response = await this.#send(method, pathWithQuery, body, headers, LARGE_RESPONSE_ROUTES.has(route) ? MAX_RESPONSE_BYTES : SMALL_RESPONSE_BYTES, options.streamed);
        // docs/api.md §4.6.4: a session the relay no longer knows (expired, closed, another secret):
        // a new one, once, and the request once more with a new nonce (the relay refused it before anything else).
        if (session !== undefined && options.session === undefined && !reopened && response.status === 401 && SESSION_GONE.has(relayErrorCode(response))) {
          reopened = true;
          this.#dropSession(session);
          attempt = 0;
          continue;
        }
        // docs/api.md §4.4: the client paces itself within the relay's rate limit: a 429
        // with a short Retry-After is waited out (a few times), a long one is reported.
        const wait = response.status === 429 ? Number(response.headers['retry-after']) : Number.NaN;
        if (Number.isFinite(wait) && wait >= 0 && wait <= MAX_RATE_WAIT_S && paced < MAX_RATE_WAITS) {
          paced += 1;
          attempt = 0;
          this.#pacer?.drained(this.#now().getTime());
          await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 1) * 1000));
          continue;
        }
        return response;
      } catch (error) {
        // A kept-alive socket the relay closed as idle just as we reused it: the relay
        // never read the request. Try once more on a new connection, with a new nonce.
        if (attempt === 1 && error instanceof CaliopError && (error.cause as { staleSocket?: boolean } | undefined)?.staleSocket === true) continue;
        throw error;
      }
    }
  }

  #send(method: string, pathWithQuery: string, body: Uint8Array | UploadBody, headers: Record<string, string>, maxResponseBytes: number, streamed?: StreamedBody): Promise<RawResponse> {
    const bodyBytes = body instanceof Uint8Array ? body.byteLength : body.size;
    return new Promise((resolve, reject) => {
      const request = this.#transport.request({
        protocol: this.#transport === https ? 'https:' : 'http:',
        host: this.#base.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.#base.port || (this.#base.protocol === 'https:' ? 443 : 80),
        method,
        path: pathWithQuery,
        headers: { ...headers, 'content-length': String(bodyBytes) },
        agent: this.#agent,
      });
      // The time allowed grows with the bytes carried, a second per MiB each way (a 25 MiB
      // attachment is a 48 MiB ciphertext, docs/store.md §5.1), so a large message is not
      // cut at 30 s on a loaded machine; still bounded: by the size ceilings above.
      const started = Date.now();
      let allowedMs = this.#timeoutMs + (bodyBytes / MIB) * MS_PER_MIB;
      const expire = () => {
        const left = started + allowedMs - Date.now();
        if (left > 0) timer = setTimeout(expire, left);
        else request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
      };
      let timer = setTimeout(expire, allowedMs);
      let answered = false;
      request.once('error', (error: NodeJS.ErrnoException & { staleSocket?: boolean }) => {
        clearTimeout(timer);
        if (request.reusedSocket && !answered && error.code === 'ECONNRESET') error.staleSocket = true;
        reject(this.#networkError(error));
      });
      request.once('response', (response) => {
        answered = true;
        const status = response.statusCode ?? 0;
        if (streamed !== undefined && status >= 200 && status <= 299) {
          const where = `${method} ${pathWithQuery.split('?')[0]}`;
          const refuse = (what: string) => new CaliopError('relay_bad_request', `the relay's answer to ${where} ${what} (docs/api.md §8.5.1); nothing was stored`);
          const announced = response.headers['content-length'];
          if (announced === undefined || Number(announced) !== streamed.size) {
            const error = refuse(`announces ${announced ?? 'no length'} bytes where the mailbox said ${streamed.size}`);
            request.destroy(error);
            return;
          }
          let received = 0;
          const networkError = (error: Error) => this.#networkError(error);
          const counted = async function* (): AsyncGenerator<Uint8Array> {
            try {
              for await (const chunk of response as AsyncIterable<Buffer>) {
                received += chunk.byteLength;
                allowedMs += (chunk.byteLength / MIB) * MS_PER_MIB;
                // Hostile relay: bytes past the size it announced are never handed on.
                if (received > streamed.size) throw refuse(`runs past the ${streamed.size} bytes it announced`);
                yield chunk;
              }
            } catch (error) {
              throw networkError(error as Error);
            }
            if (received !== streamed.size) throw refuse(`ends after ${received} of the ${streamed.size} bytes it announced`);
          };
          streamed.consume(counted()).then(
            (consumed) => {
              clearTimeout(timer);
              resolve({ status, headers: response.headers, body: Buffer.alloc(0), consumed });
            },
            (error: unknown) => {
              clearTimeout(timer);
              request.destroy();
              reject(error); // the consumer's own failure (the stick full…) is its own, not the network's
            },
          );
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        response.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          allowedMs += (chunk.byteLength / MIB) * MS_PER_MIB;
          // Bounded: a hostile relay's endless answer is cut here, never held whole.
          if (total > maxResponseBytes) {
            const tooLarge = new CaliopError('relay_bad_request', `the relay's answer to ${method} ${pathWithQuery.split('?')[0]} is larger than ${maxResponseBytes} bytes; it was cut off`);
            request.destroy(tooLarge);
            response.destroy(tooLarge);
          }
          else chunks.push(chunk);
        });
        response.once('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
        });
        response.once('error', (error) => {
          clearTimeout(timer);
          reject(this.#networkError(error));
        });
      });
      if (body instanceof Uint8Array) {
        request.end(body);
        return;
      }
      // docs/api.md §8.2.1: piece by piece, waiting for the socket to drain (one piece in memory);
      // an answer before the end (413, 401) stops the sending.
      void (async () => {
        let sent = 0;
        for await (const piece of body.open()) {
          if (answered || request.destroyed) return;
          sent += piece.byteLength;
          if (sent > body.size) throw new RangeError('the streamed body is longer than its declared size');
          if (!request.write(piece)) await once(request, 'drain');
        }
        request.end();
      })().catch((error: unknown) => request.destroy(error instanceof Error ? error : new Error(String(error))));
    });
  }

  #networkError(error: Error): CaliopError {
    if (error instanceof CaliopError) return error;
    if (error instanceof PinMismatch) return new CaliopError('relay_pin_mismatch', undefined, { cause: error });
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NETWORK_ERRORS.has(code) || error.message === 'socket hang up') {
      return new CaliopError('relay_unreachable', `the relay at ${this.#base.origin} could not be reached (${code || error.message})`, { cause: error });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new CaliopError('relay_pin_mismatch', `the relay's certificate is not trusted (${code}) and no pin is configured`, { cause: error });
    }
    return new CaliopError('relay_unreachable', `talking to the relay at ${this.#base.origin} failed (${code || error.message})`, { cause: error });
  }

  async #expect<S extends z.ZodType>(response: RawResponse, route: ApiRouteName, schema: S): Promise<z.infer<S>> {
    if (response.status < 200 || response.status > 299) this.#fail(response, route);
    let value: unknown;
    try {
      value = JSON.parse(response.body.toString('utf8'));
    } catch {
      value = undefined;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new CaliopError('relay_bad_request', `the relay's answer to ${API_ROUTES[route].method} ${API_ROUTES[route].path} does not follow docs/api.md`);
    return parsed.data;
  }

  /** docs/api.md §5.2: maps a relay error answer to the error table. */
  #fail(response: RawResponse, route: ApiRouteName): never {
    let parsed: ReturnType<typeof ErrorBodySchema.safeParse> | undefined;
    try {
      parsed = ErrorBodySchema.safeParse(JSON.parse(response.body.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    const relayCode = parsed?.success ? parsed.data.error.code : `http_${response.status}`;
    const relayMessage = parsed?.success ? parsed.data.error.message : `HTTP status ${response.status}`;
    const cause = new RelayErrorResponse(response.status, relayCode, relayMessage);
    const status = response.status;
    let code: ErrorCode;
    if (status === 413) code = 'relay_too_large';
    // docs/api.md §10.1: a body the relay found too slow: the link, not the message (the outbox keeps it).
    else if (status === 408) code = 'relay_unreachable';
    else if (status === 429) code = 'relay_rate_limited';
    // docs/api.md §9: the smarthost's permanent refusal is this message's, not the relay's absence.
    else if (status === 502 && relayCode === 'smarthost_refused') code = 'message_refused';
    else if (status >= 500) code = 'relay_unreachable';
    // docs/api.md §6.5: on every route, this stick was revoked.
    else if (status === 401 && relayCode === 'device_revoked') code = 'device_revoked';
    // docs/api.md §4.6.4: a session refused after its one renewal, or its MAC (not the stick's enrolment).
    else if (status === 401 && SESSION_REFUSED.has(relayCode)) code = 'relay_session_failed';
    else if (route === 'enrol' && relayCode === 'device_name_taken') code = 'device_name_taken';
    else if (route === 'enrol') code = 'enrolment_failed';
    else if (route === 'revokeDevice' && status === 404) code = 'device_not_found';
    else if (route === 'revokeDevice' && status === 409) code = 'device_revoke_refused';
    else if (status === 401 || status === 403) code = 'relay_refused';
    else if (status === 404 && (route === 'fetch' || route === 'delete')) code = 'message_not_found';
    else if (status === 422 && relayCode === 'unknown_recipients') code = 'unknown_recipient';
    else code = 'relay_bad_request';
    const retryAfter = status === 429 ? response.headers['retry-after'] : undefined;
    const detail = `${relayMessage} (relay: ${status} ${relayCode})${retryAfter ? `; retry after ${retryAfter} s` : ''}`;
    throw new CaliopError(code, detail, { cause });
  }
}

/** docs/api.md §5.2: the relay's error codes of a session, other than the device's own (§4.6.3). */
const SESSION_REFUSED = new Set(['session_unknown', 'session_expired', 'bad_mac', 'signature_required']);

/** The relay's error code of an answer (docs/api.md §5.1), or '' when it has none. */
function relayErrorCode(response: RawResponse): string {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(response.body.toString('utf8')));
    return parsed.success ? parsed.data.error.code : '';
  } catch {
    return '';
  }
}
