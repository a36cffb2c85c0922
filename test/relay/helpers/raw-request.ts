// Hand-made HTTPS requests to a test relay, for what RelayClient would never send
// (unsigned, tampered, replayed, malformed). Test-only: trusts the relay's
// self-signed certificate without checking its pin.

import { ed25519 } from '@noble/curves/ed25519.js';
import https from 'node:https';
import { signRequest } from '../../../src/api/request-signing.js';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly raw: Buffer;
  readonly json: unknown;
}

export function rawRequest(
  baseUrl: string,
  request: { method: string; path: string; body?: string | Uint8Array; headers?: Record<string, string> },
): Promise<RawAnswer> {
  const url = new URL(request.path, baseUrl);
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(request.body ?? new Uint8Array());
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, rejectUnauthorized: false, headers: { 'content-length': String(body.length), ...request.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, raw, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let nonceCounter = 0;
export function freshNonce(): string {
  nonceCounter += 1;
  return `test-nonce-${process.pid}-${nonceCounter}-${Math.random().toString(36).slice(2)}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

/** Signature headers for a request, as RelayClient would make them. */
export function signedHeaders(
  deviceSecretKey: Uint8Array,
  domain: string,
  request: { method: string; path: string; body?: string },
  options: { now?: Date; nonce?: string } = {},
): Record<string, string> {
  return signRequest(
    { method: request.method, pathWithQuery: request.path, body: new TextEncoder().encode(request.body ?? ''), domain },
    deviceSecretKey,
    options.now ?? new Date(),
    options.nonce ?? freshNonce(),
  );
}

export const randomDeviceKey = (): Uint8Array => ed25519.utils.randomSecretKey();
