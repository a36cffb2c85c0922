// MTA-STS (RFC 8461) for outbound mail: the recipient domain's TXT record, its policy
// fetched over HTTPS with a validated certificate, parsed, cached for max_age, and the
// decision it makes for one MX host. docs/gateway.md §4.8 says what is wired and what
// is not yet (the relay hands mail to a smarthost; MX delivery is where this applies).

import { request } from 'node:https';
import { rootCertificates } from 'node:tls';

/** RFC 8461 §3.1: `v=STSv1; id=…`; null when the domain publishes no (valid) record. */
export function parseStsRecord(texts: readonly string[]): { id: string } | null {
  // §3.1: several STSv1 records are an error, treated as none.
  const records = texts.filter((text) => /^v=STSv1\s*(;|$)/.test(text));
  if (records.length !== 1) return null;
  const fields = new Map<string, string>();
  for (const field of (records[0] as string).split(';')) {
    const at = field.indexOf('=');
    if (at > 0) fields.set(field.slice(0, at).trim(), field.slice(at + 1).trim());
  }
  const id = fields.get('id');
  return id !== undefined && /^[A-Za-z0-9]{1,32}$/.test(id) ? { id } : null;
}

export interface StsPolicy {
  readonly mode: 'enforce' | 'testing' | 'none';
  /** MX patterns: a host name, or `*.` and a domain (one leftmost label). Lower case. */
  readonly mx: readonly string[];
  /** Seconds, at most 31557600 (§3.2). */
  readonly maxAge: number;
}

/** RFC 8461 §3.2: the policy body; null when it is not a valid policy (then: no policy). */
export function parseStsPolicy(body: string): StsPolicy | null {
  const fields: [string, string][] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const at = line.indexOf(':');
    if (at <= 0) return null;
    fields.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  const one = (key: string) => fields.find(([name]) => name === key)?.[1];
  if (one('version') !== 'STSv1') return null;
  const mode = one('mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return null;
  const maxAgeText = one('max_age');
  if (maxAgeText === undefined || !/^[0-9]{1,10}$/.test(maxAgeText) || Number(maxAgeText) > 31_557_600) return null;
  const mx = fields.filter(([name]) => name === 'mx').map(([, value]) => value.toLowerCase());
  if (mode !== 'none' && mx.length === 0) return null;
  if (mx.some((pattern) => !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+\.?$/.test(pattern))) return null;
  return { mode, mx, maxAge: Number(maxAgeText) };
}

/** RFC 8461 §4.1: does the MX host match one of the policy's patterns? */
export function mxMatches(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((raw) => {
    const pattern = raw.replace(/\.$/, '');
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1); // ".example.com"
      const label = name.slice(0, name.length - suffix.length);
      return name.endsWith(suffix) && label.length > 0 && !label.includes('.');
    }
    return name === pattern;
  });
}

/** What the policy requires for a delivery to `mxHost` (§5). */
export type StsDecision =
  | { readonly kind: 'no-policy' }
  /** TLS with a certificate valid for the MX name is required, or no delivery: tlsGuaranteed. */
  | { readonly kind: 'enforce'; readonly mxAllowed: boolean }
  /** Report only: delivery goes on whatever TLS gives. */
  | { readonly kind: 'testing'; readonly mxAllowed: boolean };

export function stsDecision(policy: StsPolicy | null, mxHost: string): StsDecision {
  if (policy === null || policy.mode === 'none') return { kind: 'no-policy' };
  return { kind: policy.mode, mxAllowed: mxMatches(mxHost, policy.mx) };
}

/** §3.3: at most this many bytes of policy, and this long to get it. */
export const MAX_POLICY_BYTES = 64 * 1024;
export const POLICY_TIMEOUT_MS = 20_000;

export interface PolicyFetchOptions {
  /** PEM CAs besides the system's (the tests' policy server). */
  readonly ca: string | null;
  /**
   * Where to connect instead of the system's resolution of mta-sts.DOMAIN on 443 (the name
   * is still checked by TLS): a fixed place (tests), or a function that resolves the host
   * through the relay's own resolver (docs/gateway.md §4.8.1; port 443 but for --mta-sts-port).
   */
  readonly connectTo:
    | { readonly host: string; readonly port: number }
    | ((policyHost: string) => Promise<{ readonly host: string; readonly port: number } | null>)
    | null;
}

/**
 * §3.3: GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt with the certificate checked
 * for mta-sts.DOMAIN; no redirect followed; 200 and text/plain only; bounded. Resolves
 * the body, or null when there is no usable policy (any failure: §3.3 treats it as none,
 * unless a cached policy exists).
 */
export async function fetchStsPolicyText(domain: string, options: PolicyFetchOptions): Promise<string | null> {
  const host = `mta-sts.${domain}`;
  let target: { readonly host: string; readonly port: number } | null;
  try {
    target = typeof options.connectTo === 'function' ? await options.connectTo(host) : (options.connectTo ?? { host, port: 443 });
  } catch {
    target = null;
  }
  if (target === null) return null;
  const to = target;
  return new Promise((resolve) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        servername: host,
        path: '/.well-known/mta-sts.txt',
        method: 'GET',
        headers: { host },
        minVersion: 'TLSv1.2',
        // The system's CAs and, besides them, the operator's (--outbound-ca).
        ...(options.ca === null ? {} : { ca: [...rootCertificates, options.ca] }),
        agent: false,
        timeout: POLICY_TIMEOUT_MS,
      },
      (response) => {
        const type = String(response.headers['content-type'] ?? '');
        if (response.statusCode !== 200 || !/^text\/plain\b/i.test(type)) {
          response.destroy();
          resolve(null);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POLICY_BYTES) {
            response.destroy();
            resolve(null);
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.end();
  });
}

export interface StsResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/**
 * §5.1: the policy of a domain, from the cache while its TXT id is unchanged and its
 * max_age has not passed, else fetched again. A failed refresh keeps a cached policy
 * that has not expired (§3.3, §5.1).
 */
export class StsPolicyCache {
  readonly #entries = new Map<string, { id: string; policy: StsPolicy; expiresAt: number }>();

  constructor(
    private readonly resolver: StsResolver,
    private readonly fetchOptions: PolicyFetchOptions,
    private readonly now: () => number,
  ) {}

  async policyFor(domain: string): Promise<StsPolicy | null> {
    const cached = this.#entries.get(domain);
    const live = cached !== undefined && cached.expiresAt > this.now() ? cached : undefined;
    let record: { id: string } | null;
    try {
      record = parseStsRecord((await this.resolver.resolveTxt(`_mta-sts.${domain}`)).map((parts) => parts.join('')));
    } catch {
      record = null;
    }
    if (record === null) return live?.policy ?? null;
    if (live !== undefined && live.id === record.id) return live.policy;
    const text = await fetchStsPolicyText(domain, this.fetchOptions);
    const policy = text === null ? null : parseStsPolicy(text);
    if (policy === null) return live?.policy ?? null;
    this.#entries.set(domain, { id: record.id, policy, expiresAt: this.now() + policy.maxAge * 1000 });
    return policy;
  }
}
