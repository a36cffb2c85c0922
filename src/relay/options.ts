// caliop-relay's command line (docs/api.md §10): parsed and checked in one place.

import { parseArgs } from 'node:util';
import { isValidDomain, parseAddress, roleOf } from '../api/address.js';
import { PROTOCOL_LIMITS } from '../api/schemas.js';
import { DEFAULT_LIMITS, type RelayLimits } from './relay-deps.js';
import { DEFAULT_IP_RETENTION_DAYS } from './relay-log.js';
import { DEFAULT_RETRY, type RetryPolicy } from './gateway/outbound-queue.js';
import { parseStoreLocation, type StoreLocation } from './store/open-store.js';

/** docs/gateway.md §3.1 defaults. */
export const DEFAULT_GATEWAY = { smtpMaxMessageBytes: 25 * 1024 * 1024, smtpMaxClients: 200, smtpMaxClientsPerIp: 10, smtpConnectionsPerIpPerMinute: 60, smtpIdleTimeoutSeconds: 30 } as const;

export const RELAY_USAGE = `usage: caliop-relay --data DIR --listen HOST:PORT --domain DOMAIN
                    (--tls-cert FILE --tls-key FILE | --dev-tls | --insecure-http)
                    [--store URL] [--invite-tokens FILE] [--max-message-bytes N] [--max-recipients N]
                    [--max-page-size N] [--rate-burst N] [--rate-per-minute N]
                    [--smtp-listen HOST:PORT [--smtp-hostname NAME] [--postmaster ADDRESS] [--smtp-max-message-bytes N]
                     [--smtp-max-clients N] [--smtp-max-clients-per-ip N] [--smtp-connections-per-ip-per-minute N]
                     [--smtp-idle-timeout SECONDS] [--dns-server IP[:PORT] | --dns-records FILE]]
                    [--smarthost HOST:PORT [--smarthost-tls MODE] [--smarthost-ca FILE]
                     | --deliver-to-mx [--outbound-resolver IP[:PORT]] [--outbound-ca FILE]]
                    [--outbound-encrypted-only] [--outbound-retry-seconds N] [--outbound-give-up-seconds N]
                    [--dkim-key FILE --dkim-selector S] [--session-secret FILE | --no-sessions]
                    [--release-fingerprint FPR] [--ip-retention-days N]

  --data DIR             folder for the database (and the --dev-tls certificate)
  --listen HOST:PORT     address to listen on; port 0 picks a free port
  --domain DOMAIN        the mail domain: addresses are LOCAL@DOMAIN
  --tls-cert/--tls-key   PEM certificate chain and private key (production)
  --dev-tls              self-signed certificate kept in DIR; its pin is printed
  --insecure-http        plain HTTP, refused unless HOST is a loopback address (tests only)
  --store URL            where accounts and mailboxes live: postgres://USER@HOST/DB (several
                         relay processes may share it) or sqlite:FILE; default
                         CALIOP_RELAY_STORE, else sqlite:DIR/relay.sqlite
  --invite-tokens FILE   require an invite token to enrol (one per line, each usable once)
  --max-message-bytes N  largest message (default ${DEFAULT_LIMITS.maxMessageBytes})
  --max-recipients N     most recipients per message (default ${DEFAULT_LIMITS.maxRecipients})
  --max-page-size N      most messages per list page (default ${DEFAULT_LIMITS.maxPageSize})
  --rate-burst N         requests a device may make at once (default ${DEFAULT_LIMITS.rateBurst})
  --rate-per-minute N    sustained requests per device per minute (default ${DEFAULT_LIMITS.ratePerMinute})
  --ip-retention-days N  drop IP addresses from DIR/log and from stored message facts after
                         N days (default ${DEFAULT_IP_RETENTION_DAYS}; docs/disclosure.md §3)
  --release-fingerprint FPR  publish this release certificate fingerprint (40 or 64 hex digits)
                         in GET /v1/relay, for "caliop stick verify --relay"; default
                         CALIOP_RELAY_RELEASE_FINGERPRINT

  gateway to other mail services (docs/gateway.md):
  --smtp-listen HOST:PORT  accept mail from outside servers for enrolled addresses (port 25; 0 picks a free port)
  --smtp-hostname NAME     name in the SMTP greeting and our Received lines (default: --domain)
  --postmaster ADDRESS     the enrolled account (@--domain) that receives mail sent to postmaster@ and
                         abuse@ (RFC 5321 section 4.5.1, RFC 2142); without it those are refused (550)
  --smtp-max-message-bytes N  largest inbound message (default ${DEFAULT_GATEWAY.smtpMaxMessageBytes})
  --smtp-data-budget N     the inbound DATA bytes held at once by all SMTP transactions; past it a
                         transaction is deferred (452) (default: twice --smtp-max-message-bytes)
  --smtp-max-clients N     most SMTP connections at once (default ${DEFAULT_GATEWAY.smtpMaxClients})
  --smtp-max-clients-per-ip N  most SMTP connections one address holds at once (default ${DEFAULT_GATEWAY.smtpMaxClientsPerIp})
  --smtp-connections-per-ip-per-minute N  new SMTP connections one address may open per minute (default ${DEFAULT_GATEWAY.smtpConnectionsPerIpPerMinute})
  --smtp-idle-timeout SECONDS  close an SMTP connection silent this long (default ${DEFAULT_GATEWAY.smtpIdleTimeoutSeconds})
  --dns-server IP[:PORT]   resolver for DKIM/SPF/DMARC (default: the system's)
  --dns-records FILE       tests only, loopback only: answer DNS from a JSON file of records
  --smarthost HOST:PORT    hand mail to outside addresses to this server (POST /v1/outbound)
  --smarthost-tls MODE     opportunistic (default: STARTTLS when offered), starttls (required),
                           implicit (TLS from the start), none (loopback smarthost only)
  --smarthost-ca FILE      PEM certificates to trust for the smarthost, besides the system's
  --deliver-to-mx          deliver mail to outside addresses straight to each domain's MX, under
                           its MTA-STS and DANE policy (instead of --smarthost)
  --outbound-resolver IP[:PORT]  the local DNSSEC-validating resolver (unbound) for MX, TLSA and
                           MTA-STS lookups; loopback only, its AD bit is trusted (default 127.0.0.1:53)
  --outbound-ca FILE       PEM certificates to trust besides the system's for MX certificates
                           under MTA-STS and for MTA-STS policy servers
  --mx-port N --mta-sts-port N  tests only, loopback only: connect to MX hosts on port N instead
                           of 25, to MTA-STS policy servers on N instead of 443
  --outbound-encrypted-only  refuse readable (exposed) mail to outside addresses
  --outbound-retry-seconds N  first retry of a message the smarthost deferred, doubled after
                           each attempt up to an hour (default ${DEFAULT_RETRY.firstDelayMs / 1000})
  --outbound-give-up-seconds N  bounce a deferred message back to its sender after this long
                           (default ${DEFAULT_RETRY.giveUpAfterMs / 1000})
  --dkim-key FILE --dkim-selector S  sign outbound mail with this key (PEM, RSA or Ed25519);
                           default: a key made in DIR/dkim on first start
                           (caliop-relay dns-records prints the record to publish)
  --session-secret FILE  the 32-byte secret of sessions (docs/api.md §4.6); every relay process
                         of one store needs the same; default: DIR/session.key, made on first start
  --no-sessions          serve no sessions: every request signed by the device key (§4.1-§4.3)`;

export interface GatewayOptions {
  /** null: no inbound SMTP. */
  readonly smtpListen: { readonly host: string; readonly port: number } | null;
  readonly smtpHostname: string;
  readonly smtpMaxMessageBytes: number;
  /** docs/gateway.md §3.1.1: the inbound DATA held at once; undefined: DATA_BUDGET_MESSAGES of the largest message. */
  readonly smtpDataBudgetBytes?: number;
  readonly smtpMaxClients: number;
  readonly smtpMaxClientsPerIp: number;
  readonly smtpConnectionsPerIpPerMinute: number;
  readonly smtpIdleTimeoutSeconds: number;
  /** Where mailauth's DNS answers come from. */
  readonly dns: { readonly kind: 'system'; readonly server: string | null } | { readonly kind: 'records'; readonly file: string };
  readonly smarthost: { readonly host: string; readonly port: number; readonly tlsMode: 'implicit' | 'starttls' | 'opportunistic' | 'none'; readonly caFile: string | null } | null;
  /** docs/gateway.md §4.8: straight to the recipients' MX (exclusive with smarthost); null: not. */
  readonly mx: {
    readonly resolver: { readonly host: string; readonly port: number };
    readonly caFile: string | null;
    /** Tests only (loopback): MX records carry no port; 25 in production. */
    readonly port: number;
    /** Tests only (loopback): the MTA-STS policy server's port; 443 in production. */
    readonly policyPort: number;
  } | null;
  readonly outboundEncryptedOnly: boolean;
  /** docs/gateway.md §4.7. */
  readonly outboundRetry: RetryPolicy;
  /** null: the key of DIR/dkim (made on first start). */
  readonly dkim: { readonly keyFile: string; readonly selector: string } | null;
  /** docs/gateway.md §3.10: the account that receives postmaster@ and abuse@ mail; null: those are refused (550). */
  readonly postmaster: string | null;
}

export class RelayUsageError extends Error {
  override readonly name = 'RelayUsageError';
}

export type RelayTls =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'dev' }
  | { readonly kind: 'none' };

export interface RelayOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly domain: string;
  readonly tls: RelayTls;
  readonly inviteTokensFile: string | null;
  /** Upper-case hex, published in GET /v1/relay (docs/manifest.md §8); null: none. */
  readonly releaseFingerprint: string | null;
  readonly store: StoreLocation;
  /** docs/disclosure.md §3. */
  readonly ipRetentionDays: number;
  readonly limits: RelayLimits;
  readonly gateway: GatewayOptions;
  /** docs/api.md §4.6: sessions served, their secret from `secretFile` (null: DIR/session.key, made on first start); null: none. */
  readonly sessions: { readonly secretFile: string | null } | null;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function parseListen(text: string, flag = 'listen'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new RelayUsageError(`--${flag} must be HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:0), not ${JSON.stringify(text)}`);
  return { host: (match[1] ?? match[2]) as string, port };
}

function positiveInteger(name: string, text: string | undefined, fallback: number, ceiling = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > ceiling) throw new RelayUsageError(`--${name} must be an integer from 1 to ${ceiling}`);
  return Number(text);
}

/** `env`: CALIOP_RELAY_STORE is read from it (the flag wins). */
export function parseRelayOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RelayOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        data: { type: 'string' },
        listen: { type: 'string' },
        domain: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'dev-tls': { type: 'boolean' },
        'insecure-http': { type: 'boolean' },
        'invite-tokens': { type: 'string' },
        store: { type: 'string' },
        'max-message-bytes': { type: 'string' },
        'max-recipients': { type: 'string' },
        'max-page-size': { type: 'string' },
        'rate-burst': { type: 'string' },
        'rate-per-minute': { type: 'string' },
        'smtp-listen': { type: 'string' },
        postmaster: { type: 'string' },
        'smtp-hostname': { type: 'string' },
        'smtp-max-message-bytes': { type: 'string' },
        'smtp-data-budget': { type: 'string' },
        'smtp-max-clients': { type: 'string' },
        'smtp-max-clients-per-ip': { type: 'string' },
        'smtp-connections-per-ip-per-minute': { type: 'string' },
        'smtp-idle-timeout': { type: 'string' },
        'dns-server': { type: 'string' },
        'dns-records': { type: 'string' },
        smarthost: { type: 'string' },
        'smarthost-tls': { type: 'string' },
        'smarthost-ca': { type: 'string' },
        'outbound-encrypted-only': { type: 'boolean' },
        'deliver-to-mx': { type: 'boolean' },
        'outbound-resolver': { type: 'string' },
        'outbound-ca': { type: 'string' },
        'mx-port': { type: 'string' },
        'mta-sts-port': { type: 'string' },
        'outbound-retry-seconds': { type: 'string' },
        'outbound-give-up-seconds': { type: 'string' },
        'dkim-key': { type: 'string' },
        'dkim-selector': { type: 'string' },
        'session-secret': { type: 'string' },
        'no-sessions': { type: 'boolean' },
        'release-fingerprint': { type: 'string' },
        'ip-retention-days': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new RelayUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.data) throw new RelayUsageError('--data DIR is required');
  if (!values.listen) throw new RelayUsageError('--listen HOST:PORT is required');
  if (!values.domain) throw new RelayUsageError('--domain DOMAIN is required');
  const domain = values.domain.toLowerCase();
  if (!isValidDomain(domain)) throw new RelayUsageError(`--domain ${JSON.stringify(values.domain)} is not a valid domain name`);
  const { host, port } = parseListen(values.listen);

  const tlsChoices = [values['tls-cert'] !== undefined || values['tls-key'] !== undefined, values['dev-tls'] === true, values['insecure-http'] === true];
  if (tlsChoices.filter(Boolean).length !== 1) throw new RelayUsageError('give exactly one of --tls-cert/--tls-key, --dev-tls or --insecure-http');
  let tls: RelayTls;
  if (tlsChoices[0]) {
    if (!values['tls-cert'] || !values['tls-key']) throw new RelayUsageError('--tls-cert and --tls-key go together');
    tls = { kind: 'files', certFile: values['tls-cert'], keyFile: values['tls-key'] };
  } else if (tlsChoices[1]) {
    tls = { kind: 'dev' };
  } else {
    // docs/api.md §10: plain HTTP never leaves the machine.
    if (!LOOPBACK.has(host)) throw new RelayUsageError('--insecure-http is only allowed on a loopback address (127.0.0.1, ::1)');
    tls = { kind: 'none' };
  }

  const smtpListen = values['smtp-listen'] === undefined ? null : parseListen(values['smtp-listen'], 'smtp-listen');
  if (smtpListen === null) {
    for (const flag of ['smtp-hostname', 'smtp-max-message-bytes', 'smtp-data-budget', 'smtp-max-clients', 'smtp-max-clients-per-ip', 'smtp-connections-per-ip-per-minute', 'smtp-idle-timeout', 'dns-server', 'dns-records'] as const) {
      if (values[flag] !== undefined) throw new RelayUsageError(`--${flag} needs --smtp-listen`);
    }
  }
  if (values['dns-server'] !== undefined && values['dns-records'] !== undefined) throw new RelayUsageError('give --dns-server or --dns-records, not both');
  // docs/gateway.md §3.1: made-up DNS answers never face the network.
  if (values['dns-records'] !== undefined && (!LOOPBACK.has(host) || (smtpListen !== null && !LOOPBACK.has(smtpListen.host)))) {
    throw new RelayUsageError('--dns-records is for tests: every listen address must be loopback (127.0.0.1, ::1)');
  }
  const smtpHostname = (values['smtp-hostname'] ?? domain).toLowerCase();
  if (!isValidDomain(smtpHostname)) throw new RelayUsageError(`--smtp-hostname ${JSON.stringify(values['smtp-hostname'])} is not a valid host name`);
  if (smtpListen !== null && tls.kind === 'none' && !LOOPBACK.has(smtpListen.host)) {
    throw new RelayUsageError('--smtp-listen without TLS (--insecure-http) is only allowed on a loopback address');
  }

  let smarthost: GatewayOptions['smarthost'] = null;
  if (values.smarthost !== undefined) {
    const target = parseListen(values.smarthost, 'smarthost');
    const mode = values['smarthost-tls'] ?? 'opportunistic';
    if (mode !== 'implicit' && mode !== 'starttls' && mode !== 'opportunistic' && mode !== 'none') {
      throw new RelayUsageError('--smarthost-tls must be opportunistic, starttls, implicit or none');
    }
    if (mode === 'none' && !LOOPBACK.has(target.host)) throw new RelayUsageError('--smarthost-tls none is only allowed for a loopback smarthost');
    smarthost = { ...target, tlsMode: mode, caFile: values['smarthost-ca'] ?? null };
  } else if (values['smarthost-tls'] !== undefined || values['smarthost-ca'] !== undefined) {
    throw new RelayUsageError('--smarthost-tls and --smarthost-ca need --smarthost');
  }
  let mx: GatewayOptions['mx'] = null;
  if (values['deliver-to-mx'] === true) {
    if (smarthost !== null) throw new RelayUsageError('give --smarthost or --deliver-to-mx, not both');
    const resolverText = values['outbound-resolver'] ?? '127.0.0.1:53';
    const resolver = /:[0-9]{1,5}$/.test(resolverText) ? parseListen(resolverText, 'outbound-resolver') : { host: resolverText.replace(/^\[|\]$/g, ''), port: 53 };
    // docs/gateway.md §4.8.1: the AD bit is believed only over loopback (RFC 6698 §4.1; Postfix's dnssec level).
    if (!LOOPBACK.has(resolver.host) || resolver.host === 'localhost') throw new RelayUsageError('--outbound-resolver must be a validating resolver on a loopback address (127.0.0.1 or ::1): its AD bit is trusted');
    const testPorts = values['mx-port'] !== undefined || values['mta-sts-port'] !== undefined;
    // docs/gateway.md §4.8.6: the port overrides exist for tests only, like --dns-records.
    if (testPorts && (!LOOPBACK.has(host) || (smtpListen !== null && !LOOPBACK.has(smtpListen.host)))) {
      throw new RelayUsageError('--mx-port and --mta-sts-port are for tests: every listen address must be loopback (127.0.0.1, ::1)');
    }
    mx = {
      resolver,
      caFile: values['outbound-ca'] ?? null,
      port: positiveInteger('mx-port', values['mx-port'], 25, 65_535),
      policyPort: positiveInteger('mta-sts-port', values['mta-sts-port'], 443, 65_535),
    };
  } else {
    for (const flag of ['outbound-resolver', 'outbound-ca', 'mx-port', 'mta-sts-port'] as const) {
      if (values[flag] !== undefined) throw new RelayUsageError(`--${flag} needs --deliver-to-mx`);
    }
  }
  if (smarthost === null && mx === null && (values['outbound-retry-seconds'] !== undefined || values['outbound-give-up-seconds'] !== undefined)) {
    throw new RelayUsageError('--outbound-retry-seconds and --outbound-give-up-seconds need --smarthost or --deliver-to-mx');
  }
  const outboundRetry: RetryPolicy = {
    firstDelayMs: positiveInteger('outbound-retry-seconds', values['outbound-retry-seconds'], DEFAULT_RETRY.firstDelayMs / 1000, 86_400) * 1000,
    maxDelayMs: DEFAULT_RETRY.maxDelayMs,
    giveUpAfterMs: positiveInteger('outbound-give-up-seconds', values['outbound-give-up-seconds'], DEFAULT_RETRY.giveUpAfterMs / 1000, 30 * 86_400) * 1000,
  };

  const storeText = values.store ?? env.CALIOP_RELAY_STORE;
  let store: StoreLocation = { kind: 'sqlite', file: null };
  if (storeText !== undefined && storeText !== '') {
    const parsed = parseStoreLocation(storeText);
    if (parsed === null) {
      throw new RelayUsageError(`--store must be postgres://… or sqlite:FILE${values.store === undefined ? ' (from CALIOP_RELAY_STORE)' : ''}`);
    }
    store = parsed;
  }

  const fingerprintText = values['release-fingerprint'] ?? env.CALIOP_RELAY_RELEASE_FINGERPRINT;
  let releaseFingerprint: string | null = null;
  if (fingerprintText !== undefined && fingerprintText !== '') {
    const compact = fingerprintText.replace(/\s+/g, '').toUpperCase();
    if (!/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(compact)) {
      throw new RelayUsageError(`--release-fingerprint must be 40 or 64 hexadecimal digits${values['release-fingerprint'] === undefined ? ' (from CALIOP_RELAY_RELEASE_FINGERPRINT)' : ''}`);
    }
    releaseFingerprint = compact;
  }

  const dkim = dkimOption(values['dkim-key'], values['dkim-selector']);
  if (values['no-sessions'] === true && values['session-secret'] !== undefined) throw new RelayUsageError('--session-secret and --no-sessions exclude each other');
  const sessions = values['no-sessions'] === true ? null : { secretFile: values['session-secret'] ?? null };

  let postmaster: string | null = null;
  if (values.postmaster !== undefined) {
    const parsed = parseAddress(values.postmaster);
    if (parsed === null || parsed.domain !== domain) throw new RelayUsageError(`--postmaster must be an address @${domain} (an enrolled account), not ${JSON.stringify(values.postmaster)}`);
    if (roleOf(parsed.localPart) !== null) throw new RelayUsageError(`--postmaster names the account that reads ${parsed.localPart}@ mail: a person's address, not the role address itself (docs/api.md §3.1)`);
    postmaster = parsed.address;
  }

  const gateway: GatewayOptions = {
    postmaster,
    smtpListen,
    smtpHostname,
    smtpMaxMessageBytes: positiveInteger('smtp-max-message-bytes', values['smtp-max-message-bytes'], DEFAULT_GATEWAY.smtpMaxMessageBytes, PROTOCOL_LIMITS.maxMessageBytes),
    ...(values['smtp-data-budget'] === undefined ? {} : { smtpDataBudgetBytes: positiveInteger('smtp-data-budget', values['smtp-data-budget'], 0, Number.MAX_SAFE_INTEGER) }),
    smtpMaxClients: positiveInteger('smtp-max-clients', values['smtp-max-clients'], DEFAULT_GATEWAY.smtpMaxClients, 10_000),
    smtpMaxClientsPerIp: positiveInteger('smtp-max-clients-per-ip', values['smtp-max-clients-per-ip'], DEFAULT_GATEWAY.smtpMaxClientsPerIp, 10_000),
    smtpConnectionsPerIpPerMinute: positiveInteger('smtp-connections-per-ip-per-minute', values['smtp-connections-per-ip-per-minute'], DEFAULT_GATEWAY.smtpConnectionsPerIpPerMinute, 100_000),
    smtpIdleTimeoutSeconds: positiveInteger('smtp-idle-timeout', values['smtp-idle-timeout'], DEFAULT_GATEWAY.smtpIdleTimeoutSeconds, 3_600),
    dns: values['dns-records'] !== undefined ? { kind: 'records', file: values['dns-records'] } : { kind: 'system', server: values['dns-server'] ?? null },
    smarthost,
    mx,
    outboundEncryptedOnly: values['outbound-encrypted-only'] === true,
    outboundRetry,
    dkim,
  };

  return {
    gateway,
    sessions,
    dataDir: values.data,
    host,
    port,
    domain,
    tls,
    inviteTokensFile: values['invite-tokens'] ?? null,
    releaseFingerprint,
    store,
    ipRetentionDays: positiveInteger('ip-retention-days', values['ip-retention-days'], DEFAULT_IP_RETENTION_DAYS, 3_650),
    limits: {
      maxMessageBytes: positiveInteger('max-message-bytes', values['max-message-bytes'], DEFAULT_LIMITS.maxMessageBytes, PROTOCOL_LIMITS.maxMessageBytes),
      maxRecipients: positiveInteger('max-recipients', values['max-recipients'], DEFAULT_LIMITS.maxRecipients, PROTOCOL_LIMITS.maxRecipients),
      maxPageSize: positiveInteger('max-page-size', values['max-page-size'], DEFAULT_LIMITS.maxPageSize, PROTOCOL_LIMITS.maxPageSize),
      rateBurst: positiveInteger('rate-burst', values['rate-burst'], DEFAULT_LIMITS.rateBurst),
      ratePerMinute: positiveInteger('rate-per-minute', values['rate-per-minute'], DEFAULT_LIMITS.ratePerMinute),
    },
  };
}

/** docs/gateway.md §4.4: `--dkim-key FILE --dkim-selector S`, both or neither; the relay and `caliop-relay tls-report` take them alike. */
export function dkimOption(keyFile: string | undefined, selector: string | undefined): { readonly keyFile: string; readonly selector: string } | null {
  if ((keyFile === undefined) !== (selector === undefined)) throw new RelayUsageError('--dkim-key and --dkim-selector go together');
  if (selector !== undefined && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(selector)) {
    throw new RelayUsageError(`--dkim-selector ${JSON.stringify(selector)} is not a valid DNS label`);
  }
  return keyFile === undefined ? null : { keyFile, selector: selector as string };
}
