// Generates docs/api.openapi.json (OpenAPI 3.1) from the zod schemas of src/api/,
// so the machine-readable contract can never drift from what the relay enforces.
//
//   npx tsc -p . && node build/scripts/make-openapi.js        # rewrites docs/api.openapi.json
//
// test/relay/openapi.test.ts fails when the committed file differs from this output.

import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { OutboundQueuedResponseSchema, OutboundRequestSchema, OutboundResponseSchema, OutboundStatusResponseSchema } from '../src/api/outbound.js';
import { API_ROUTES, type ApiRouteName } from '../src/api/routes.js';
import { DomainTlsPolicyResponseSchema } from '../src/api/tls-policy.js';
import {
  CertResponseSchema,
  DevicesResponseSchema,
  EnrolRequestSchema,
  EnrolResponseSchema,
  ErrorBodySchema,
  ListResponseSchema,
  MailboxAckRequestSchema,
  MailboxAckResponseSchema,
  MailboxPageResponseSchema,
  MessageResponseSchema,
  RelayInfoSchema,
  RevokeDeviceResponseSchema,
  OpenSessionRequestSchema,
  OpenSessionResponseSchema,
  SubmitRequestSchema,
  UpdateCertRequestSchema,
  SubmitResponseSchema,
} from '../src/api/schemas.js';

const COMPONENTS = {
  Error: ErrorBodySchema,
  RelayInfo: RelayInfoSchema,
  EnrolRequest: EnrolRequestSchema,
  EnrolResponse: EnrolResponseSchema,
  CertResponse: CertResponseSchema,
  UpdateCertRequest: UpdateCertRequestSchema,
  DevicesResponse: DevicesResponseSchema,
  RevokeDeviceResponse: RevokeDeviceResponseSchema,
  OpenSessionRequest: OpenSessionRequestSchema,
  OpenSessionResponse: OpenSessionResponseSchema,
  SubmitRequest: SubmitRequestSchema,
  SubmitResponse: SubmitResponseSchema,
  ListResponse: ListResponseSchema,
  MailboxPageResponse: MailboxPageResponseSchema,
  MailboxAckRequest: MailboxAckRequestSchema,
  MailboxAckResponse: MailboxAckResponseSchema,
  MessageResponse: MessageResponseSchema,
  OutboundRequest: OutboundRequestSchema,
  OutboundResponse: OutboundResponseSchema,
  OutboundQueuedResponse: OutboundQueuedResponseSchema,
  OutboundStatusResponse: OutboundStatusResponseSchema,
  DomainTlsPolicyResponse: DomainTlsPolicyResponseSchema,
} as const;

type ComponentName = keyof typeof COMPONENTS;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // Requests are strict (additionalProperties: false); responses are read leniently.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return rest;
}

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: ComponentName) => ({ content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => ({ description, ...json('Error') });

const SIGNED_ERRORS = {
  '400': error('malformed JSON, unknown field or invalid value (§5.2)'),
  '401': error('unsigned, bad signature, stale timestamp, replayed nonce, unknown or revoked device (§4.3, §6.5); in a session: unknown or expired session, bad MAC, or a route that needs a signature (§4.6.3)'),
  '413': error('body or message larger than the relay accepts (§5.3)'),
  '429': error('rate limited; see Retry-After (§5.3)'),
};

interface Operation {
  summary: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });

const OPERATIONS: Record<ApiRouteName, Operation> = {
  relayInfo: { summary: 'The relay domain, limits and whether enrolment needs an invite (§6.1)', responses: { '200': { description: 'relay info', ...json('RelayInfo') } } },
  enrol: {
    summary: 'Bind an address to an OpenPGP certificate and the signing device key (§6.2)',
    requestBody: { required: true, ...json('EnrolRequest') },
    responses: {
      '201': { description: 'enrolled', ...json('EnrolResponse') },
      '200': { description: 'this exact enrolment already exists', ...json('EnrolResponse') },
      ...SIGNED_ERRORS,
      '403': error('proof, certificate, domain or invite refused (§6.2, §6.3)'),
      '409': error('address or device already enrolled'),
    },
  },
  cert: {
    summary: 'Certificate of an enrolled address (§7.1)',
    parameters: [pathParam('address', 'local@domain')],
    responses: { '200': { description: 'the armored certificate', ...json('CertResponse') }, '404': error('no certificate for this address') },
  },
  submit: {
    summary: 'Submit one encrypted message for one or more recipients of this relay (§8.2)',
    requestBody: { required: true, ...json('SubmitRequest') },
    responses: { '201': { description: 'stored', ...json('SubmitResponse') }, ...SIGNED_ERRORS, '422': error('unknown recipients, listed in the message') },
  },
  list: {
    summary: "The caller's mailbox after a cursor, oldest first (§8.4)",
    parameters: [
      { name: 'after', in: 'query', required: false, description: 'a cursor from a previous page', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
      { name: 'limit', in: 'query', required: false, description: 'page size; lowered to the relay maximum', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    ],
    responses: { '200': { description: 'one page', ...json('ListResponse') }, ...SIGNED_ERRORS },
  },
  fetch: {
    summary: 'One message of the caller\'s mailbox, with its ciphertext (§8.5)',
    parameters: [pathParam('id', 'message id')],
    responses: { '200': { description: 'the message', ...json('MessageResponse') }, ...SIGNED_ERRORS, '404': error('not in the caller\'s mailbox') },
  },
  ciphertext: {
    summary: "One message's ciphertext as a streamed binary body of exactly Content-Length bytes (§8.5.1)",
    parameters: [pathParam('id', 'message id')],
    responses: {
      '200': { description: 'the armored ciphertext, as bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      ...SIGNED_ERRORS,
      '404': error('not in the caller\'s mailbox'),
    },
  },
  delete: {
    summary: 'Delete one message of the caller\'s mailbox (§8.6)',
    parameters: [pathParam('id', 'message id')],
    responses: { '204': { description: 'deleted' }, ...SIGNED_ERRORS, '404': error('not in the caller\'s mailbox') },
  },
  mailboxPage: {
    summary: "A page of the caller's mailbox with the ciphertexts, oldest first, bounded by count and bytes (§8.8)",
    parameters: [
      { name: 'after', in: 'query', required: false, description: 'a cursor from a previous page', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
      { name: 'limit', in: 'query', required: false, description: 'page size; lowered to the relay maximum', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    ],
    responses: { '200': { description: 'one page', ...json('MailboxPageResponse') }, ...SIGNED_ERRORS },
  },
  updateCert: {
    summary: "Publish a newer certificate of the caller's own key: a renewal or a revocation (§7.3)",
    parameters: [pathParam('address', 'the caller\'s address')],
    requestBody: { required: true, ...json('UpdateCertRequest') },
    responses: {
      '200': { description: 'published; the certificate as now served', ...json('CertResponse') },
      ...SIGNED_ERRORS,
      '403': error('not the caller\'s address'),
      '409': error('another key, or it drops a revocation the directory holds'),
    },
  },
  devices: {
    summary: "The devices of the caller's account, revoked ones included (§6.4)",
    responses: { '200': { description: 'the devices', ...json('DevicesResponse') }, ...SIGNED_ERRORS },
  },
  revokeDevice: {
    summary: "Revoke one device of the caller's account; its requests are refused from then on (§6.5)",
    parameters: [pathParam('name', 'device name')],
    responses: {
      '200': { description: 'revoked', ...json('RevokeDeviceResponse') },
      ...SIGNED_ERRORS,
      '404': error('no device of that name in the caller\'s account'),
      '409': error('the device is already revoked, or is the caller'),
    },
  },
  openSession: {
    summary: 'Open a session: its key agreed by X25519, the client share in the signed body; signed by the device key only (§4.6.1)',
    requestBody: { required: true, ...json('OpenSessionRequest') },
    responses: { '201': { description: 'opened', ...json('OpenSessionResponse') }, ...SIGNED_ERRORS, '404': error('this relay serves no sessions (§4.6.4)') },
  },
  closeSession: {
    summary: 'Close the session this request is sent in (§4.6.4)',
    responses: { '204': { description: 'closed' }, ...SIGNED_ERRORS, '404': error('this relay serves no sessions (§4.6.4)') },
  },
  mailboxAck: {
    summary: "Delete every entry of the caller's mailbox up to a cursor (§8.9)",
    requestBody: { required: true, ...json('MailboxAckRequest') },
    responses: { '200': { description: 'deleted', ...json('MailboxAckResponse') }, ...SIGNED_ERRORS },
  },
  tlsPolicy: {
    summary: "What the relay knows of a recipient domain's TLS guarantee (DANE, MTA-STS), before a send (§8.11)",
    parameters: [pathParam('domain', 'the recipient domain')],
    responses: {
      '200': { description: 'the policy', ...json('DomainTlsPolicyResponse') },
      ...SIGNED_ERRORS,
      '503': error('this relay sends no mail outside'),
    },
  },
  outbound: {
    summary: 'Send one message to outside addresses through the relay\'s smarthost or to their MX (§8.7)',
    requestBody: { required: true, ...json('OutboundRequest') },
    responses: {
      '200': { description: 'the smarthost accepted it', ...json('OutboundResponse') },
      '202': { description: 'the smarthost deferred it: the relay keeps it and tries again (docs/gateway.md §4.7)', ...json('OutboundQueuedResponse') },
      ...SIGNED_ERRORS,
      '403': error('From: is not the caller\'s address, or exposed mail is refused by this relay'),
      '422': error('a recipient is an address of this relay'),
      '502': error('the smarthost (or, with MX delivery, every recipient server) refused the message'),
      '503': error('this relay has no smarthost'),
      '504': error('the smarthost could not be reached or deferred the message, and the relay could not queue it'),
    },
  },
  outboundStatus: {
    summary: 'What became of a queued outbound message: queued, delivered (with its delivery facts) or bounced (§8.12)',
    parameters: [pathParam('id', 'one of the queuedIds of a 202')],
    responses: {
      '200': { description: 'the report', ...json('OutboundStatusResponse') },
      ...SIGNED_ERRORS,
      '404': error('no queued message of the caller has this id, or its report expired'),
    },
  },
  wkdAdvancedKey: {
    summary: 'Web Key Directory, advanced method (§7.2)',
    parameters: [pathParam('domain', 'the relay domain'), pathParam('hash', 'z-base-32 SHA-1 of the lower-cased local part'), { name: 'l', in: 'query', required: false, schema: { type: 'string' } }],
    responses: { '200': { description: 'binary OpenPGP certificate', content: { 'application/octet-stream': {} } }, '404': error('unknown') },
  },
  wkdAdvancedPolicy: { summary: 'WKD policy file, advanced method (§7.2)', parameters: [pathParam('domain', 'the relay domain')], responses: { '200': { description: 'empty policy', content: { 'text/plain': {} } } } },
  wkdDirectKey: {
    summary: 'Web Key Directory, direct method (§7.2)',
    parameters: [pathParam('hash', 'z-base-32 SHA-1 of the lower-cased local part'), { name: 'l', in: 'query', required: false, schema: { type: 'string' } }],
    responses: { '200': { description: 'binary OpenPGP certificate', content: { 'application/octet-stream': {} } }, '404': error('unknown') },
  },
  wkdDirectPolicy: { summary: 'WKD policy file, direct method (§7.2)', responses: { '200': { description: 'empty policy', content: { 'text/plain': {} } } } },
  mtaStsPolicy: {
    summary: 'MTA-STS policy of the domain (RFC 8461 §3.3; docs/gateway.md §4.6), served by a relay with its SMTP gateway',
    responses: { '200': { description: 'the policy naming the SMTP gateway as the MX', content: { 'text/plain': {} } }, '404': { description: 'no SMTP gateway: no policy' } },
  },
};

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, route] of Object.entries(API_ROUTES) as [ApiRouteName, (typeof API_ROUTES)[ApiRouteName]][]) {
    const openApiPath = route.path.replace(/:([a-z]+)/g, '{$1}');
    const operation = { operationId: name, ...OPERATIONS[name], ...(route.auth === 'none' ? { security: [] } : {}) };
    paths[openApiPath] = { ...paths[openApiPath], [route.method.toLowerCase()]: operation };
  }
  const signatureHeader = (name: string, description: string) => ({ type: 'apiKey', in: 'header', name, description });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Caliop narrow API',
      version: '1',
      description: 'Generated from src/api/schemas.ts by scripts/make-openapi.ts. The normative text is docs/api.md; request signing (§4) uses all four Caliop-* headers together.',
    },
    security: [{ CaliopDevice: [], CaliopTimestamp: [], CaliopNonce: [], CaliopSignature: [] }],
    paths,
    components: {
      securitySchemes: {
        CaliopDevice: signatureHeader('Caliop-Device', 'base64url Ed25519 device public key (docs/api.md §4.1)'),
        CaliopTimestamp: signatureHeader('Caliop-Timestamp', 'decimal Unix seconds'),
        CaliopNonce: signatureHeader('Caliop-Nonce', '16-64 base64url characters, never reused'),
        CaliopSignature: signatureHeader('Caliop-Signature', 'base64url Ed25519 signature of the canonical request string (docs/api.md §4.2)'),
      },
      schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, schema]) => [name, jsonSchema(schema)])),
    },
  };
}

export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

/** docs/api.openapi.json, from build/scripts/ or scripts/. */
export const OPENAPI_FILE = resolve(dirname(fileURLToPath(import.meta.url)), fileURLToPath(import.meta.url).includes('/build/') ? '../../docs/api.openapi.json' : '../docs/api.openapi.json');

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPENAPI_FILE, renderOpenApiDocument());
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}
