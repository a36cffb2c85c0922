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

/**
 * docs/api.md §3.1: role addresses, which no stick enrols: RFC 5321 §4.5.1 (postmaster),
 * RFC 2142 (abuse, noc, security, hostmaster, webmaster, ...), the name the relay writes its
 * own bounces from (mailer-daemon) and root. A local part is a role address when the part
 * before its first "+" is one of these.
 */
export const ROLE_LOCAL_PARTS: readonly string[] = [
  'postmaster', 'mailer-daemon', 'root',
  // RFC 2142 §3-§5: business, network and service mailboxes; on a public domain each would speak for its operator.
  'info', 'marketing', 'sales', 'support', 'abuse', 'noc', 'security', 'hostmaster', 'usenet', 'news', 'webmaster', 'www', 'uucp', 'ftp',
];

/** docs/api.md §3.1: the role addresses whose mail the gateway hands to the operator's account (`--postmaster`). */
export const OPERATOR_LOCAL_PARTS: readonly string[] = ['postmaster', 'abuse'];

/** The role a local part stands for (docs/api.md §3.1), or null. */
export function roleOf(localPart: string): string | null {
  const base = localPart.toLowerCase().split('+', 1)[0] as string;
  return ROLE_LOCAL_PARTS.includes(base) ? base : null;
}
