// docs/api.openapi.json is generated from src/api/schemas.ts: the committed file
// must be exactly what scripts/make-openapi.ts produces now.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { API_ROUTES } from '../../src/api/routes.js';
import { OPENAPI_FILE, buildOpenApiDocument, renderOpenApiDocument } from '../../scripts/make-openapi.js';

it('docs/api.openapi.json is up to date (regenerate: npx tsc -p . && node build/scripts/make-openapi.js)', () => {
  expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApiDocument());
});

it('describes every route of the route table, and requests refuse unknown fields', () => {
  const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { additionalProperties?: boolean }> } };
  for (const route of Object.values(API_ROUTES)) {
    expect(document.paths[route.path.replace(/:([a-z]+)/g, '{$1}')]?.[route.method.toLowerCase()]).toBeDefined();
  }
  expect(document.components.schemas.SubmitRequest?.additionalProperties).toBe(false);
  expect(document.components.schemas.EnrolRequest?.additionalProperties).toBe(false);
});
