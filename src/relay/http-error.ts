// The relay's one HTTP error type and its handlers (docs/api.md §5.1): every
// failure is `{ "error": { "code", "message" } }`; the default handler never
// shows internals (stack, SQL, file names) to the client.

import { isDiskFull } from './store/disk-full.js';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody } from '../api/schemas.js';

export class RelayHttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, options: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayHttpError';
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** What an error is answered with: RelayHttpError as it is, anything else (reported) as a bare 500 or a 507. */
export function errorAnswer(error: unknown, reportInternal: (error: unknown) => void): { status: ContentfulStatusCode; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof RelayHttpError) return { status: error.status, body: errorBody(error.code, error.message), headers: error.headers };
  reportInternal(error);
  // docs/api.md §5.4: said as such, so the stick keeps the message and the operator knows why.
  if (isDiskFull(error)) return { status: 507, body: errorBody('out_of_space', 'the relay is out of disk space: it accepts deletions and acknowledgements only'), headers: {} };
  return { status: 500, body: errorBody('internal', 'the relay failed to handle this request'), headers: {} };
}

/** Hono's app.onError: errorAnswer's status, headers and body. */
export function handleError(error: Error, c: Context, reportInternal: (error: unknown) => void): Response {
  const answer = errorAnswer(error, reportInternal);
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return c.json(answer.body, answer.status);
}

/** Hono's app.notFound. */
export function handleNotFound(c: Context): Response {
  return c.json(errorBody('not_found', 'no such route'), 404);
}
