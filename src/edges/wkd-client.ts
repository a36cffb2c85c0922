// Web Key Directory lookup of an outside recipient's cert (draft-koch-openpgp-webkey-
// service §3.1): the advanced method on openpgpkey.DOMAIN first, then the direct
// method on DOMAIN. Certificates are checked by the system's CAs (or a given `ca`).
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { wkdHash } from '../api/wkd-hash.js';

export interface WkdOptions {
  /** Extra trusted CA certificates (PEM), e.g. a test relay's self-signed one. */
  readonly ca?: string;
  /** Overrides the two URLs to try, in order (tests point them at loopback). */
  readonly urlsFor?: (address: { local: string; domain: string; hash: string }) => string[];
  readonly timeoutMs?: number;
}

export interface WkdResult {
  /** The binary certificate as served. */
  readonly cert: Uint8Array;
  readonly url: string;
}

/** draft-koch-openpgp-webkey-service §3.1: the advanced URL, then the direct one. */
export function wkdUrls(address: { local: string; domain: string; hash: string }): string[] {
  const local = encodeURIComponent(address.local);
  return [
    `https://openpgpkey.${address.domain}/.well-known/openpgpkey/${address.domain}/hu/${address.hash}?l=${local}`,
    `https://${address.domain}/.well-known/openpgpkey/hu/${address.hash}?l=${local}`,
  ];
}

/** A cert is never this large: a longer answer is dropped unread. */
const MAX_CERT_BYTES = 1024 * 1024;

/** The whole body, or null as soon as it passes `limit` bytes (the connection is then closed). */
async function bodyWithin(response: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of response as AsyncIterable<Buffer>) {
    total += part.length;
    if (total > limit) {
      response.destroy();
      return null;
    }
    parts.push(part);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function get(url: string, options: WkdOptions): Promise<Uint8Array | null> {
  return new Promise((resolvePromise) => {
    const request = https.get(url, { ...(options.ca ? { ca: options.ca } : {}), timeout: options.timeoutMs ?? 10_000 }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolvePromise(null);
        return;
      }
      bodyWithin(response, MAX_CERT_BYTES).then(resolvePromise, () => resolvePromise(null));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolvePromise(null)); // no such host, refused, bad TLS: no cert from there
  });
}

/** The cert published for `address`, or null when neither method serves one. */
export async function lookupWkd(address: string, options: WkdOptions = {}): Promise<WkdResult | null> {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase();
  const hash = wkdHash(local);
  for (const url of (options.urlsFor ?? wkdUrls)({ local, domain, hash })) {
    const cert = await get(url, options);
    if (cert && cert.length > 0) return { cert, url };
  }
  return null;
}
