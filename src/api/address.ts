// Caliop addresses (docs/api.md §3): `local@domain`, ASCII, compared lower-cased.

/** docs/api.md §3: local part 1-64 of [a-z0-9._+-], not starting or ending with a dot. */
const LOCAL_PART = /^[a-z0-9_+-](?:[a-z0-9._+-]{0,62}[a-z0-9_+-])?$/;
/** docs/api.md §3: a DNS name of lower-case labels (or `localhost`). */
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export interface ParsedAddress {
  readonly localPart: string;
  readonly domain: string;
  /** `localPart@domain`, lower-cased. */
  readonly address: string;
}

export function isValidDomain(domain: string): boolean {
  return DOMAIN.test(domain);
}

/** Parses and lower-cases an address; returns null when it is not a valid Caliop address. */
export function parseAddress(text: string): ParsedAddress | null {
  const lower = text.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 0) return null;
  const localPart = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  if (!LOCAL_PART.test(localPart) || localPart.includes('..') || !DOMAIN.test(domain)) return null;
  return { localPart, domain, address: `${localPart}@${domain}` };
}
