// Reads the whole request body, refusing more than `maxBytes` with a 413
// (docs/api.md §5.3) before reading it all when Content-Length says so.

import type { MiddlewareHandler } from 'hono';
import { RelayHttpError } from '../http-error.js';
import type { RelayEnv } from '../relay-env.js';

export function readBody(maxBytes: number): MiddlewareHandler<RelayEnv> {
  const tooLarge = () => new RelayHttpError(413, 'body_too_large', `the request body is larger than this relay accepts (${maxBytes} bytes)`);
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
    const chunks: Uint8Array[] = [];
    let total = 0;
    const stream = c.req.raw.body;
    if (stream) {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(value);
      }
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.set('body', body);
    await next();
  };
}
