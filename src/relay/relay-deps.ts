// What the relay app is built from: its state, its settings and its clock.

import type { RelayStore } from './store/relay-store.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../api/message-size.js';
import type { RequestLogLine } from './middleware/request-log.js';
import type { RelaySessions } from './session-keys.js';

export interface RelayLimits {
  /** docs/api.md §5.3: largest armored ciphertext, in bytes (default: a 25 MiB attachment fits, docs/limits.md §2.5). */
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  /** Largest page of GET /v1/messages; a larger `limit` is lowered to it. */
  readonly maxPageSize: number;
  /** Per-device token bucket. */
  readonly rateBurst: number;
  readonly ratePerMinute: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxRecipients: 50,
  maxPageSize: 100,
  rateBurst: 60,
  ratePerMinute: 600,
};

export interface RelayDeps {
  readonly store: RelayStore;
  /** The mail domain, lower-case. */
  readonly domain: string;
  readonly limits: RelayLimits;
  /** SHA-256 digests (hex) of the valid invite tokens, read on each enrolment; null when no invite is required. */
  readonly inviteTokenDigests: (() => ReadonlySet<string>) | null;
  /** Published in GET /v1/relay (docs/api.md §6.1): upper-case hex; absent or null: none. */
  readonly releaseFingerprint?: string | null;
  readonly clock: () => Date;
  /** docs/gateway.md §4.6: the MTA-STS policy served at /.well-known/mta-sts.txt (a relay with its SMTP gateway); absent or null: 404. */
  readonly mtaStsPolicy?: string | null;
  /** docs/api.md §4.6: the relay's sessions (announced in GET /v1/relay); absent or null: none (POST /v1/session answers 404). */
  readonly sessions?: RelaySessions | null;
  /** 16 random bytes, base64url (message ids). */
  readonly randomId: () => string;
  readonly logRequest: (line: RequestLogLine) => void;
  /**
   * The hot routes' lines of one event-loop turn, in order, before any of their answers goes out
   * (hot-routes.ts); absent: logRequest, line by line.
   */
  readonly logRequests?: (lines: readonly RequestLogLine[]) => void;
  /** Called with unexpected errors (the client only gets a bare 500). */
  readonly logInternalError: (error: unknown) => void;
}
