#!/usr/bin/env node
// caliop-relay: the reference relay of the narrow API (docs/api.md §10).
// Prints one line on stdout when ready:
//   caliop-relay: listening on https://HOST:PORT pin sha256/BASE64[ smtp HOST:PORT]
// and one JSON line per request on stderr.

import { BODY_GRACE_MS, MIN_BODY_BYTES_PER_SECOND } from './middleware/read-body.js';
import { PerIpLimits } from './gateway/per-ip-limits.js';
import { format } from 'node:util';
import { randomId } from './random-id.js';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createRelayListener } from './app.js';
import { ensureDevTls, readTlsMaterial, type TlsMaterial } from './dev-tls.js';
import { ensureDkimKey, readDkimKey, type DkimKey } from './gateway/dkim.js';
import { RelaySessions, sessionSecretFor } from './session-keys.js';
import { readDnsRecordsFile, systemResolver } from './gateway/dns-records.js';
import { mtaStsPolicyText } from './gateway/publish-records.js';
import { DnsClient } from './gateway/dns-client.js';
import { StsPolicyCache } from './gateway/mta-sts.js';
import { mxTransport } from './gateway/mx-delivery.js';
import { OutboundQueue } from './gateway/outbound-queue.js';
import type { OutboundTransport } from './gateway/outbound-transport.js';
import { smarthostTransport } from './gateway/smarthost.js';
import type { SmtpGateway } from './gateway/smtp-gateway.js';
import { readInviteTokens } from './invite-tokens.js';
import { parseRelayOptions, RELAY_USAGE, RelayUsageError, type RelayOptions } from './options.js';
import { dropLogIpsBefore, RelayLog } from './relay-log.js';
import { openRelayStore, redactedStoreLocation } from './store/open-store.js';
import type { RelayStore } from './store/relay-store.js';
import { printProgramError } from '../error-printer.js';
import { RelayCommandError } from './command-error.js';
import { makeFolderSync } from './durable-file.js';

/** The name in its error lines (src/error-printer.ts). */
const PROGRAM = 'caliop-relay';

/** docs/api.md §10.1. */
const HTTP_MAX_CONNECTIONS_PER_IP = 64;

/** Until the data folder is known: stderr only. Then also DIR/log (relay-log.ts). */
let relayLog: RelayLog | null = null;

function logLine(fields: Record<string, unknown>): void {
  if (relayLog !== null) relayLog.write(fields);
  else process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** docs/disclosure.md §3: IPs leave the log files and the stored facts after the retention period. */
async function dropOldIps(store: RelayStore, dataDir: string, retentionDays: number): Promise<void> {
  const before = new Date(Date.now() - retentionDays * 86_400_000);
  const days = dropLogIpsBefore(dataDir, before);
  const messages = await store.dropPeerIpsBefore(before.toISOString());
  if (days.length > 0 || messages > 0) logLine({ event: 'ips_dropped', logDays: days, messages, before: before.toISOString() });
}

/**
 * docs/api.md §10: the relay's standard output is its own (the ready line). Libraries
 * that print (mailauth logs a DKIM `l=` mismatch with console.log, with numbers a sender
 * chooses) go to the log instead, one bounded JSON line each, never to stdout.
 */
function redirectLibraryOutput(): void {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    console[level] = (...args: unknown[]) => logLine({ event: 'library_output', level, text: format(...args).slice(0, 500) });
  }
}

/** A start-up failure that says what to do about it. */
class RelayStartError extends Error {
  override readonly name = 'RelayStartError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/**
 * docs/gateway.md §4.6: every relay process of one store signs with one key per selector. The
 * first records the digest of its DNS record; a process with another key under that selector
 * would sign mail the published record cannot verify, so it does not start.
 */
async function checkSharedDkimKey(store: RelayStore, dkim: DkimKey, keyFile: string): Promise<void> {
  const ours = createHash('sha256').update(dkim.txtRecord).digest('hex');
  const agreed = await store.sharedKey(`dkim:${dkim.selector}`, ours, new Date().toISOString());
  if (agreed.publicDigest === ours) return;
  throw new RelayStartError(
    `this relay's DKIM key for selector ${dkim.selector} (${keyFile}) is not the key the relays of this store sign with under that selector since ${agreed.firstAt} (record SHA-256 ${agreed.publicDigest.slice(0, 16)}…, this one ${ours.slice(0, 16)}…): mail it signed would fail DKIM`,
    'give every relay process the same --dkim-key FILE --dkim-selector S (copy the first one\'s key), or a new key with a new selector (docs/gateway.md §4.6)',
  );
}

async function startRelay(options: RelayOptions): Promise<void> {
  redirectLibraryOutput();
  makeFolderSync(options.dataDir);
  relayLog = new RelayLog(options.dataDir, () => new Date());
  // docs/api.md §5.4: room for deleting the largest message on a full disk.
  const store = await openRelayStore(options.store, options.dataDir, { deleteReserveBytes: options.limits.maxMessageBytes + 2 * 1024 * 1024 });
  await dropOldIps(store, options.dataDir, options.ipRetentionDays);
  const retention = setInterval(() => {
    dropOldIps(store, options.dataDir, options.ipRetentionDays).catch((error: unknown) =>
      logLine({ event: 'ips_drop_failed', error: error instanceof Error ? error.message : String(error) }),
    );
  }, 3_600_000);
  retention.unref();
  if (options.inviteTokensFile !== null) readInviteTokens(options.inviteTokensFile); // fail at start if unreadable
  const inviteTokensFile = options.inviteTokensFile;

  const gatewayOptions = options.gateway;
  // docs/gateway.md §4.4: made in DIR/dkim on first start unless given.
  const dkim = gatewayOptions.dkim === null ? ensureDkimKey(options.dataDir, new Date()) : readDkimKey(gatewayOptions.dkim.keyFile, gatewayOptions.dkim.selector);
  await checkSharedDkimKey(store, dkim, gatewayOptions.dkim === null ? join(options.dataDir, 'dkim', `${dkim.selector}.pem`) : gatewayOptions.dkim.keyFile);
  const smarthost = gatewayOptions.smarthost;
  const smarthostConfig =
    smarthost === null
      ? null
      : {
          host: smarthost.host,
          port: smarthost.port,
          tlsMode: smarthost.tlsMode,
          ca: smarthost.caFile === null ? null : readFileSync(smarthost.caFile, 'utf8'),
          clientName: gatewayOptions.smtpHostname,
          timeoutMs: 30_000,
        };
  // docs/gateway.md §4.8: or straight to the recipients' MX, through the local validating resolver.
  const mx = gatewayOptions.mx;
  let transport: OutboundTransport | null = smarthostConfig === null ? null : smarthostTransport(smarthostConfig);
  if (mx !== null) {
    const dns = new DnsClient(mx.resolver);
    const outboundCa = mx.caFile === null ? null : readFileSync(mx.caFile, 'utf8');
    const sts = new StsPolicyCache(
      { resolveTxt: (name) => dns.txt(name) },
      {
        ca: outboundCa,
        connectTo: async (policyHost) => {
          const ip = (await dns.addresses(policyHost))[0];
          return ip === undefined ? null : { host: ip, port: mx.policyPort };
        },
      },
      () => Date.now(),
    );
    transport = mxTransport({
      dns,
      sts,
      ca: outboundCa,
      port: mx.port,
      clientName: gatewayOptions.smtpHostname,
      timeoutMs: 30_000,
      log: logLine,
      // docs/gateway.md §4.9: every TLS session with an MX is counted for TLS-RPT (RFC 8460).
      tlsSession: (session) =>
        void store.recordTlsSession({ ...session, day: new Date().toISOString().slice(0, 10) }).catch((error: unknown) =>
          logLine({ event: 'tls_session_record_failed', error: error instanceof Error ? error.message : String(error) }),
        ),
    });
    // docs/gateway.md §4.9: the reports of the day before, sent once (the store's claim) by whichever process runs first.
    const reportJob = async () => {
      const { sendTlsReports, yesterday } = await import('./tls-report-command.js');
      const now = new Date();
      await sendTlsReports({ store, domain: options.domain, dkim, resolveTxt: (name) => dns.txt(name), ca: outboundCa, now, log: logLine }, yesterday(now), false);
    };
    const reports = setInterval(() => {
      reportJob().catch((error: unknown) => logLine({ event: 'tls_report_failed', error: error instanceof Error ? error.message : String(error) }));
    }, 3_600_000);
    reports.unref();
    // docs/gateway.md §4.9.1: the HTTPS reports not posted yet, retried for 24 hours (RFC 8460 §5.4).
    const postRetries = setInterval(() => {
      import('./tls-report-command.js')
        .then(({ retryTlsReportPosts }) => retryTlsReportPosts({ store, ca: outboundCa, now: new Date(), log: logLine }))
        .catch((error: unknown) => logLine({ event: 'tls_report_failed', error: error instanceof Error ? error.message : String(error) }));
    }, 60_000);
    postRetries.unref();
  }
  // docs/gateway.md §4.7: deferred outbound mail waits in the store; every process that sends outside works the queue.
  const outboundQueue =
    transport === null
      ? null
      : new OutboundQueue({
          store,
          transport,
          smarthostHost: smarthostConfig?.host ?? gatewayOptions.smtpHostname,
          domain: options.domain,
          hostname: gatewayOptions.smtpHostname,
          retry: gatewayOptions.outboundRetry,
          clock: () => new Date(),
          randomId,
          log: logLine,
        });
  outboundQueue?.start();
  // docs/api.md §4.6: the session secret, made in DIR on first start like the DKIM key, unless given.
  const sessions = options.sessions === null ? null : new RelaySessions(sessionSecretFor(options.dataDir, options.sessions.secretFile), options.domain);
  const listener = createRelayListener({
    store,
    sessions,
    domain: options.domain,
    limits: options.limits,
    // Re-read on each enrolment, so volunteers can add tokens without a restart.
    inviteTokenDigests: inviteTokensFile === null ? null : () => readInviteTokens(inviteTokensFile),
    releaseFingerprint: options.releaseFingerprint,
    // docs/gateway.md §4.6: the policy that names this relay's SMTP gateway as the MX.
    mtaStsPolicy: gatewayOptions.smtpListen === null ? null : mtaStsPolicyText(gatewayOptions.smtpHostname),
    clock: () => new Date(),
    randomId,
    logRequest: (line) => logLine({ ...line }),
    logRequests: (lines) => {
      if (relayLog !== null) relayLog.writeLines(lines);
      else for (const line of lines) logLine({ ...line });
    },
    logInternalError: (error) =>
      logLine({ event: 'internal_error', error: error instanceof Error ? `${error.name}: ${error.message}` : 'non-Error thrown' }),
  }, {
    transport,
    encryptedOnly: gatewayOptions.outboundEncryptedOnly,
    hostname: gatewayOptions.smtpHostname,
    log: logLine,
    dkim,
    queue: outboundQueue === null ? null : { retry: gatewayOptions.outboundRetry, wake: () => outboundQueue.wake() },
  }, { hostname: options.host });

  let tls: TlsMaterial | null = null;
  if (options.tls.kind === 'dev') tls = ensureDevTls(options.dataDir, options.domain);
  else if (options.tls.kind === 'files') tls = readTlsMaterial(options.tls.certFile, options.tls.keyFile);

  // The hot routes straight on node:http, the others through Hono (app.ts createRelayListener).
  const server: import('node:http').Server = await new Promise((resolve, reject) => {
    const created =
      tls === null ? createHttpServer(listener) : createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const }, listener);
    created.once('error', reject);
    created.listen(options.port, options.host, () => resolve(created));
  });
  server.on('error', (error) => logLine({ event: 'server_error', error: error.message }));
  // docs/api.md §10.1: one address holds at most HTTP_MAX_CONNECTIONS_PER_IP connections;
  // slow or idle clients are cut by the timeouts, so others are served.
  const perIp = new PerIpLimits({ maxConnections: HTTP_MAX_CONNECTIONS_PER_IP, connectionsPerMinute: Number.MAX_SAFE_INTEGER, clock: () => Date.now() });
  const httpServer = server as import('node:http').Server;
  httpServer.headersTimeout = 10_000;
  // A large upload on a slow link is legitimate (docs/api.md §10.1): the body must keep a
  // minimum rate (middleware/read-body.ts) and never pause 30 s (the socket's idle timeout);
  // the whole request's ceiling is what the largest body takes at that minimum rate.
  httpServer.requestTimeout = BODY_GRACE_MS + Math.ceil((options.limits.maxMessageBytes * 4) / 3 / MIN_BODY_BYTES_PER_SECOND) * 1000;
  httpServer.keepAliveTimeout = 5_000;
  httpServer.on('connection', (socket: import('node:net').Socket) => {
    const remote = socket.remoteAddress ?? '';
    if (!perIp.admit(remote).ok) {
      logLine({ event: 'http_refused', reason: 'too-many-connections', ip: remote });
      socket.destroy();
      return;
    }
    socket.setTimeout(30_000, () => socket.destroy());
    socket.once('close', () => perIp.release(remote));
  });

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls === null ? 'http' : 'https'}://${host}:${address.port}`;
  let smtp: SmtpGateway | null = null;
  let smtpAddress = '';
  if (gatewayOptions.smtpListen !== null) {
    // Loaded only with --smtp-listen: smtp-server and mailauth are not needed otherwise.
    const { createSmtpGateway } = await import('./gateway/smtp-gateway.js');
    smtp = createSmtpGateway({
      store,
      domain: options.domain,
      hostname: gatewayOptions.smtpHostname,
      tls: tls === null ? null : { cert: tls.cert, key: tls.key },
      maxMessageBytes: gatewayOptions.smtpMaxMessageBytes,
      ...(gatewayOptions.smtpDataBudgetBytes === undefined ? {} : { dataBudgetBytes: gatewayOptions.smtpDataBudgetBytes }),
      maxClients: gatewayOptions.smtpMaxClients,
      maxClientsPerIp: gatewayOptions.smtpMaxClientsPerIp,
      connectionsPerIpPerMinute: gatewayOptions.smtpConnectionsPerIpPerMinute,
      idleTimeoutMs: gatewayOptions.smtpIdleTimeoutSeconds * 1000,
      maxRecipients: options.limits.maxRecipients,
      postmaster: gatewayOptions.postmaster,
      resolver: gatewayOptions.dns.kind === 'records' ? readDnsRecordsFile(gatewayOptions.dns.file) : systemResolver(gatewayOptions.dns.server),
      clock: () => new Date(),
      randomId,
      log: logLine,
    });
    const bound = await smtp.listen(gatewayOptions.smtpListen.host, gatewayOptions.smtpListen.port);
    smtpAddress = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  }

  logLine({ event: 'started', dkimSelector: dkim.selector, store: redactedStoreLocation(options.store, options.dataDir), url, domain: options.domain, inviteRequired: inviteTokensFile !== null, smtp: smtpAddress || null });
  process.stdout.write(`caliop-relay: listening on ${url}${tls === null ? '' : ` pin ${tls.pin}`}${smtpAddress === '' ? '' : ` smtp ${smtpAddress}`}\n`);

  const stop = (signal: string) => {
    logLine({ event: 'stopping', signal });
    server.close(() => {
      void Promise.all([smtp === null ? Promise.resolve() : smtp.close(), outboundQueue?.stop()]).finally(() => {
        void store.close().finally(() => void (relayLog?.close() ?? Promise.resolve()).finally(() => process.exit(0)));
      });
    });
    // Keep-alive connections would hold close() open.
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** One subcommand (docs/api.md §10): its usage, and the command itself (loaded only when run). */
interface Subcommand {
  readonly summary: string;
  readonly load: () => Promise<{ readonly usage: string; readonly run: (argv: readonly string[]) => Promise<string> | string }>;
}

/** docs/api.md §10: the operator's subcommands. */
const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  disclosure: {
    summary: 'the signed archive of what the relay holds about one address (docs/disclosure.md §4)',
    load: async () => {
      const { disclosureCommand, DISCLOSURE_USAGE } = await import('./disclosure-command.js');
      return { usage: DISCLOSURE_USAGE, run: (argv) => disclosureCommand(argv, process.env, new Date()) };
    },
  },
  'disclosure-log': {
    summary: 'verify the log of every disclosure; its count and head hash (docs/disclosure.md §5)',
    load: async () => {
      const { disclosureLogCommand, DISCLOSURE_LOG_USAGE } = await import('./disclosure-command.js');
      return { usage: DISCLOSURE_LOG_USAGE, run: (argv) => disclosureLogCommand(argv, process.env) };
    },
  },
  'key-reset': {
    summary: 'let a new key take an enrolled address for N days (docs/api.md §6.6)',
    load: async () => {
      const { keyResetCommand, KEY_RESET_USAGE } = await import('./key-reset-command.js');
      return { usage: KEY_RESET_USAGE, run: (argv) => keyResetCommand(argv, process.env, new Date()) };
    },
  },
  'tls-report': {
    summary: "send one day's TLS-RPT reports now (docs/gateway.md §4.9)",
    load: async () => {
      const { tlsReportCommand, TLS_REPORT_USAGE } = await import('./tls-report-command.js');
      return { usage: TLS_REPORT_USAGE, run: (argv) => tlsReportCommand(argv, process.env, new Date()) };
    },
  },
  'dns-records': {
    summary: 'print the DNS records to publish: MX, DKIM, SPF, DMARC, MTA-STS (docs/gateway.md §4.4)',
    load: async () => {
      const { dnsRecordsCommand, DNS_RECORDS_USAGE } = await import('./dns-records-command.js');
      return { usage: DNS_RECORDS_USAGE, run: (argv) => dnsRecordsCommand(argv, new Date()) };
    },
  },
};

/** The top-level --help: the relay's usage, then the subcommands. */
function relayHelp(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `${RELAY_USAGE}\n\nsubcommands (caliop-relay SUBCOMMAND --help for each one's options):\n${lines.join('\n')}\n`;
}

async function runSubcommand(name: string, subcommand: Subcommand, argv: readonly string[]): Promise<void> {
  const { usage, run } = await subcommand.load();
  // --help or -h anywhere: this subcommand's usage, exit 0 (docs/api.md §10).
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  try {
    process.stdout.write(await run(argv));
  } catch (error) {
    if (error instanceof RelayUsageError) {
      printProgramError(PROGRAM, error, { after: usage });
      process.exit(2);
    }
    if (error instanceof RelayCommandError) {
      printProgramError(PROGRAM, error);
      process.exit(error.exitCode);
    }
    // Not the relay's own hint (its ports): this command's.
    printProgramError(PROGRAM, {
      message: error instanceof Error ? error.message : String(error),
      hint: `caliop-relay ${name} stopped: check its options, its data folder and its store (caliop-relay ${name} --help)`,
    });
    process.exit(1);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const subcommand = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]];
  if (subcommand !== undefined && Object.hasOwn(SUBCOMMANDS, argv[0] as string)) {
    await runSubcommand(argv[0] as string, subcommand, argv.slice(1));
    return;
  }
  let options;
  try {
    options = parseRelayOptions(argv, process.env);
  } catch (error) {
    if (!(error instanceof RelayUsageError)) throw error;
    printProgramError(PROGRAM, error, { after: RELAY_USAGE });
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(relayHelp());
    return;
  }
  await startRelay(options);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  printProgramError(PROGRAM, {
    message: error instanceof Error ? error.message : String(error),
    hint: error instanceof RelayStartError ? error.hint : 'the relay stopped: check its options, that its ports are free and its data folder is writable (caliop-relay --help)',
  });
  process.exit(1);
});
