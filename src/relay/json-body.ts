// Reads a request body as JSON and checks it against an API schema (docs/api.md §5.2):
// malformed JSON and schema violations (unknown fields included) are 400s.

import type { z } from 'zod';
import { RelayHttpError } from './http-error.js';

export function parseJsonBody<S extends z.ZodType>(body: Uint8Array, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new RelayHttpError(400, 'malformed_json', 'the request body is not valid JSON (UTF-8)');
  }
  return parseWithSchema(value, schema);
}

export function parseWithSchema<S extends z.ZodType>(value: unknown, schema: S): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new RelayHttpError(400, 'invalid_request', describeIssues(result.error.issues));
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 5).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
    if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.join(', ')}`;
    return `${where}: ${issue.message}`;
  });
  return `the request does not follow docs/api.md: ${parts.join('; ')}`;
}
