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

/** RFC 8461 §3.2: the MTA-STS policy of a domain whose one MX is `mxHost`, enforced, kept a week. */
export function mtaStsPolicyText(mxHost: string): string {
  return `version: STSv1\nmode: enforce\nmx: ${mxHost}\nmax_age: 604800\n`;
}

/** A TXT value as zone-file strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtStrings(value: string): string {
  return (value.match(/.{1,255}/g) ?? ['']).map((part) => `"${part}"`).join(' ');
}

/**
 * `reportAddress`: where DMARC aggregate and TLS-RPT reports go (`--report-address`, an address
 * the relay accepts mail for); without one, DMARC names none (RFC 7489 §6.3: rua is optional)
 * and the TLS-RPT record, which must name one (RFC 8460 §3), is left out with a comment.
 */
export function publishedRecords(options: { domain: string; mxHost: string; dkim: DkimKey; policyId: string; reportAddress?: string }): PublishedRecords {
  const d = `${options.domain}.`;
  const mx = `${options.mxHost}.`;
  const mtaStsPolicy = mtaStsPolicyText(options.mxHost);
  return {
    mtaStsPolicy,
    zone: [
      `; caliop-relay: DNS records for ${options.domain}`,
      `${d} 3600 IN MX 10 ${mx}`,
      `; DKIM: the relay signs outbound mail with selector ${options.dkim.selector}`,
      `${options.dkim.selector}._domainkey.${d} 3600 IN TXT ${txtStrings(options.dkim.txtRecord)}`,
      '; SPF: only the MX hosts send for this domain (add your smarthost if it is another host)',
      `${d} 3600 IN TXT "v=spf1 mx -all"`,
      options.reportAddress === undefined
        ? '; DMARC: mail failing aligned DKIM and SPF is rejected (no report address: --report-address ADDRESS adds one)'
        : `; DMARC: mail failing aligned DKIM and SPF is rejected; aggregate reports to ${options.reportAddress}`,
      `_dmarc.${d} 3600 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s${options.reportAddress === undefined ? '' : `; rua=mailto:${options.reportAddress}`}"`,
      '; MTA-STS: senders must use TLS to the MX. The policy below must answer at',
      `; https://mta-sts.${options.domain}/.well-known/mta-sts.txt before this record is published: the relay`,
      `; serves it (with --smtp-listen, for its --smtp-hostname ${options.mxHost}) when mta-sts.${options.domain}`,
      `; points at it on port 443 and its certificate names mta-sts.${options.domain}; or put the file on a web server (change id when it changes)`,
      `_mta-sts.${d} 3600 IN TXT "v=STSv1; id=${options.policyId}"`,
      ...(options.reportAddress === undefined
        ? ['; TLS-RPT: not published: its record must name a report address (--report-address ADDRESS)']
        : ['; TLS-RPT: where senders report TLS failures', `_smtp._tls.${d} 3600 IN TXT "v=TLSRPTv1; rua=mailto:${options.reportAddress}"`]),
      '; WKD (advanced method): the relay serves /.well-known/openpgpkey/ for this domain',
      `openpgpkey.${d} 3600 IN CNAME ${mx}`,
    ],
  };
}
