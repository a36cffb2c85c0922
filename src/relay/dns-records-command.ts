// `caliop-relay dns-records --data DIR --domain D [--mx HOST] [--dkim-key FILE --dkim-selector S]`:
// prints the DNS records to publish (docs/gateway.md §4.4). Makes the DKIM key in DIR
// if the relay has not made it yet, so the records can be published before the first start.

import { parseAddress } from '../api/address.js';
import { parseArgs } from 'node:util';
import { isValidDomain } from '../api/address.js';
import { ensureDkimKey, readDkimKey } from './gateway/dkim.js';
import { publishedRecords } from './gateway/publish-records.js';
import { RelayUsageError } from './options.js';

export const DNS_RECORDS_USAGE = 'usage: caliop-relay dns-records --data DIR --domain DOMAIN [--mx HOST] [--dkim-key FILE --dkim-selector S] [--report-address ADDRESS]';

export function dnsRecordsCommand(argv: readonly string[], now: Date): string {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        domain: { type: 'string' },
        mx: { type: 'string' },
        'dkim-key': { type: 'string' },
        'dkim-selector': { type: 'string' },
        'report-address': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new RelayUsageError((error as Error).message);
  }
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  if (!values.domain || !isValidDomain(values.domain.toLowerCase())) throw new RelayUsageError('--domain DOMAIN is required (a valid domain name)');
  const domain = values.domain.toLowerCase();
  const mxHost = (values.mx ?? domain).toLowerCase();
  if (!isValidDomain(mxHost)) throw new RelayUsageError(`--mx ${JSON.stringify(values.mx)} is not a valid host name`);
  if ((values['dkim-key'] === undefined) !== (values['dkim-selector'] === undefined)) throw new RelayUsageError('--dkim-key and --dkim-selector go together');
  const dkim = values['dkim-key'] !== undefined ? readDkimKey(values['dkim-key'], values['dkim-selector'] as string) : ensureDkimKey(values.data, now);
  const reportAddress = values['report-address'] === undefined ? undefined : parseAddress(values['report-address'])?.address;
  if (values['report-address'] !== undefined && reportAddress === undefined) throw new RelayUsageError(`--report-address ${JSON.stringify(values['report-address'])} is not a mail address`);
  const records = publishedRecords({ domain, mxHost, dkim, policyId: now.toISOString().replace(/[^0-9]/g, '').slice(0, 14), ...(reportAddress === undefined ? {} : { reportAddress }) });
  const policy = records.mtaStsPolicy.trimEnd().split('\n').map((line) => `;   ${line}`);
  return [...records.zone, '; MTA-STS policy file:', ...policy].join('\n') + '\n';
}
