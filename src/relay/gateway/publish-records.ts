// The DNS records an operator publishes for a Caliop relay's domain (docs/gateway.md
// §4.4), as zone-file lines: MX, DKIM (RFC 6376), SPF (RFC 7208), DMARC (RFC 7489),
// MTA-STS (RFC 8461) with its policy file, TLS-RPT (RFC 8460), and the WKD host
// (draft-koch-openpgp-webkey-service §3.1). Pure: no I/O.

import type { DkimKey } from './dkim.js';

export interface PublishedRecords {
  /** Zone-file lines, with comments. */
  readonly zone: string[];
  /** The MTA-STS policy, to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt. */
  readonly mtaStsPolicy: string;
}

/** A TXT value as zone-file strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtStrings(value: string): string {
  return (value.match(/.{1,255}/g) ?? ['']).map((part) => `"${part}"`).join(' ');
}

export function publishedRecords(options: { domain: string; mxHost: string; dkim: DkimKey; policyId: string }): PublishedRecords {
  const d = `${options.domain}.`;
  const mx = `${options.mxHost}.`;
  const mtaStsPolicy = `version: STSv1\nmode: enforce\nmx: ${options.mxHost}\nmax_age: 604800\n`;
  return {
    mtaStsPolicy,
    zone: [
      `; caliop-relay: DNS records for ${options.domain}`,
      `${d} 3600 IN MX 10 ${mx}`,
      `; DKIM: the relay signs outbound mail with selector ${options.dkim.selector}`,
      `${options.dkim.selector}._domainkey.${d} 3600 IN TXT ${txtStrings(options.dkim.txtRecord)}`,
      '; SPF: only the MX hosts send for this domain (add your smarthost if it is another host)',
      `${d} 3600 IN TXT "v=spf1 mx -all"`,
      '; DMARC: mail failing aligned DKIM and SPF is rejected; aggregate reports to postmaster',
      `_dmarc.${d} 3600 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:postmaster@${options.domain}"`,
      '; MTA-STS: senders must use TLS to the MX; the policy below is served by the relay host at',
      `; https://mta-sts.${options.domain}/.well-known/mta-sts.txt (change id when the policy changes)`,
      `_mta-sts.${d} 3600 IN TXT "v=STSv1; id=${options.policyId}"`,
      `mta-sts.${d} 3600 IN CNAME ${mx}`,
      '; TLS-RPT: where senders report TLS failures',
      `_smtp._tls.${d} 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@${options.domain}"`,
      '; WKD (advanced method): the relay serves /.well-known/openpgpkey/ for this domain',
      `openpgpkey.${d} 3600 IN CNAME ${mx}`,
    ],
  };
}
