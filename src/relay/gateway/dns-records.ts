// The resolver mailauth asks (docs/gateway.md §3.1): the system's, a given server,
// or, for tests only, a JSON file of records in the shape of mailauth's --dns-cache.

import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';

/** Behaves like dns.promises.Resolver#resolve: records, or an Error with a DNS `code`. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

function notFound(name: string, rrtype: string): Error {
  return Object.assign(new Error(`${rrtype} ${name}: not found`), { code: 'ENOTFOUND', hostname: name });
}

/** The records of a --dns-records file: `{ "NAME": { "TXT": [["..."]], "MX": [...] } }`. */
export function resolverFromRecords(records: Record<string, Record<string, unknown[]>>): DnsResolver {
  const byName = new Map<string, Record<string, unknown[]>>();
  for (const [name, types] of Object.entries(records)) byName.set(name.toLowerCase().replace(/\.$/, ''), types);
  return async (name, rrtype) => {
    const answers = byName.get(name.toLowerCase().replace(/\.$/, ''))?.[rrtype.toUpperCase()];
    if (answers === undefined || answers.length === 0) throw notFound(name, rrtype);
    return structuredClone(answers);
  };
}

export function readDnsRecordsFile(file: string): DnsResolver {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--dns-records ${file}: expected a JSON object of names`);
  }
  return resolverFromRecords(parsed as Record<string, Record<string, unknown[]>>);
}

/** The system's resolver, or the one at `server` (IP[:PORT]). */
export function systemResolver(server: string | null): DnsResolver {
  const resolver = new Resolver({ timeout: 5000, tries: 2 });
  if (server !== null) resolver.setServers([server]);
  return (name, rrtype) => resolver.resolve(name, rrtype);
}
