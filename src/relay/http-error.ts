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

/** Hono's app.onError: RelayHttpError as it is, anything else as a bare 500. */
export function handleError(error: Error, c: Context, reportInternal: (error: unknown) => void): Response {
  if (error instanceof RelayHttpError) {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json(errorBody(error.code, error.message), error.status);
  }
  reportInternal(error);
  // docs/api.md §5.4: said as such, so the stick keeps the message and the operator knows why.
  if (isDiskFull(error)) return c.json(errorBody('out_of_space', 'the relay is out of disk space: it accepts deletions and acknowledgements only'), 507);
  return c.json(errorBody('internal', 'the relay failed to handle this request'), 500);
}

/** Hono's app.notFound. */
export function handleNotFound(c: Context): Response {
  return c.json(errorBody('not_found', 'no such route'), 404);
}
