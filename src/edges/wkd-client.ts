// Web Key Directory lookup of an outside recipient's cert (draft-koch-openpgp-webkey-
// service §3.1): the advanced method on openpgpkey.DOMAIN first, then the direct
// method on DOMAIN. Certificates are checked by the system's CAs (or a given `ca`).
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

function get(url: string, options: WkdOptions): Promise<Uint8Array | null> {
  return new Promise((resolvePromise) => {
    const request = https.get(url, { ...(options.ca ? { ca: options.ca } : {}), timeout: options.timeoutMs ?? 10_000 }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolvePromise(null);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 1024 * 1024) request.destroy(); // a cert is never that large
        else chunks.push(chunk);
      });
      response.on('end', () => resolvePromise(new Uint8Array(Buffer.concat(chunks))));
      response.on('error', () => resolvePromise(null));
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
