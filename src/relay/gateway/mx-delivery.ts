// docs/gateway.md §4.8: delivery straight to a recipient domain's MX, with the domain's
// TLS policy applied per MX host: DANE (RFC 7672) from DNSSEC-validated TLSA records,
// else MTA-STS (RFC 8461), else opportunistic STARTTLS; REQUIRETLS (RFC 8689) passed
// when the message requires TLS and the MX offers it.

import { checkServerIdentity, rootCertificates, TLSSocket, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import './smtp-dot-stuffing.js'; // issue 9/13: DATA's transparency without a JavaScript loop over every byte (docs/gateway.md §4.3.1)
import { parseAddress } from '../../api/address.js';
import type { DomainTlsPolicyResponse } from '../../api/tls-policy.js';
import type { TlsPolicy } from '../../api/facts.js';
import { verifyDane, usableTlsa, type TlsaRecord } from './dane.js';
import { DnsTemporaryError, type DnsClient } from './dns-client.js';
import { stsDecision, type StsPolicy, type StsPolicyCache } from './mta-sts.js';
import { DeliveryError, messageBody, type DeliverOptions, type Delivery, type OutboundMessage, type OutboundTransport } from './outbound-transport.js';
import type { TlsRptFailure, TlsRptPolicyType, TlsSession } from './tls-rpt.js';
import { deliveryErrorOf, tlsOf } from './smarthost.js';

export interface MxDeliveryConfig {
  readonly dns: DnsClient;
  readonly sts: StsPolicyCache;
  /** PEM CAs trusted besides the system's for MX certificates under MTA-STS (--outbound-ca; the tests' CA). */
  readonly ca: string | null;
  /** 25; only the tests' --mx-port changes it (MX records carry no port, RFC 5321 §5.1). */
  readonly port: number;
  /** Our name in EHLO. */
  readonly clientName: string;
  readonly timeoutMs: number;
  readonly log: (fields: Record<string, unknown>) => void;
  /** docs/gateway.md §4.9: told of every TLS session (or its failure) with an MX, for TLS-RPT (RFC 8460). */
  readonly tlsSession?: (session: Omit<TlsSession, 'day'>) => void;
}

/** At most this many MX hosts are tried per domain (RFC 5321 §5.1 leaves it to the client). */
const MAX_MX = 5;

interface MxHost {
  readonly host: string;
  /** null: no DANE for this host; else its usable, validated TLSA records (RFC 7672 §2.2). */
  readonly tlsa: readonly TlsaRecord[] | null;
  /** Why the host must be skipped before any connection (a TLSA lookup that failed: RFC 7672 §2.1.1). */
  readonly unusable: string | null;
}

interface DomainFacts {
  readonly domain: string;
  readonly mx: readonly MxHost[];
  readonly sts: StsPolicy | null;
}

function plainName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * RFC 5321 §5.1 and RFC 7505: the MX hosts of a domain by preference (the domain itself
 * when it has none); RFC 7672 §2.2.1-§2.2.2: their TLSA records, believed only when
 * both the MX answer and the TLSA answer are DNSSEC-validated (AD).
 */
async function domainFacts(config: MxDeliveryConfig, domain: string): Promise<DomainFacts> {
  const mxAnswer = await config.dns.query(domain, 'MX');
  if (mxAnswer.rcode === 'NXDOMAIN') throw new DeliveryError('refused', `${domain}: no such domain`, `550 5.1.2 ${domain}: no such domain`);
  const records = mxAnswer.records
    .map((record) => record.data as { preference: number; exchange: string })
    .sort((a, b) => a.preference - b.preference);
  // RFC 7505: a null MX (one record, ".") says the domain takes no mail.
  if (records.length === 1 && plainName(records[0]!.exchange) === '') throw new DeliveryError('refused', `${domain} takes no mail (null MX)`, `556 5.1.10 ${domain} takes no mail (null MX)`);
  const hosts = records.length === 0 ? [domain] : records.map((record) => plainName(record.exchange)).filter((host) => host !== '');
  let sts: StsPolicy | null = null;
  try {
    sts = await config.sts.policyFor(domain);
  } catch {
    sts = null;
  }
  const mx: MxHost[] = [];
  for (const host of hosts.slice(0, MAX_MX)) {
    if (!mxAnswer.authenticated) {
      mx.push({ host, tlsa: null, unusable: null }); // RFC 7672 §2.2.1: an insecure MX RRset: no DANE
      continue;
    }
    try {
      // RFC 7672 §3: the TLSA name is _25._tcp.HOST whatever port a test connects to.
      const answer = await config.dns.query(`_25._tcp.${host}`, 'TLSA');
      const tlsa = answer.authenticated
        ? usableTlsa(answer.records.map((record) => {
            const data = record.data as { usage: number; selector: number; matchingType: number; certificate: Buffer };
            return { usage: data.usage, selector: data.selector, matchingType: data.matchingType, data: new Uint8Array(data.certificate) };
          }))
        : [];
      mx.push({ host, tlsa: tlsa.length > 0 ? tlsa : null, unusable: null });
    } catch (error) {
      if (!(error instanceof DnsTemporaryError)) throw error;
      mx.push({ host, tlsa: null, unusable: `TLSA lookup failed: ${error.message}` });
    }
  }
  return { domain, mx, sts };
}

/** What a delivery to one MX host requires (docs/gateway.md §4.8.4), or why the host is skipped. */
type HostPlan = { readonly policy: 'dane' | 'mta-sts' | 'opportunistic' } | { readonly skip: string };

function planFor(facts: DomainFacts, host: MxHost, requireTls: boolean): HostPlan {
  if (host.unusable !== null) return { skip: host.unusable };
  // RFC 8461 §2: DANE, where it applies, wins over MTA-STS.
  if (host.tlsa !== null) return { policy: 'dane' };
  const sts = stsDecision(facts.sts, host.host);
  if (sts.kind === 'enforce') return sts.mxAllowed ? { policy: 'mta-sts' } : { skip: `MTA-STS: ${host.host} is not an mx of the policy of ${facts.domain}` };
  if (requireTls) return { skip: `no DANE or MTA-STS enforce policy guarantees TLS to ${host.host}` };
  return { policy: 'opportunistic' };
}

function chainOf(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert !== undefined && cert.raw !== undefined && !seen.has(cert.fingerprint256) && chain.length < 10) {
    seen.add(cert.fingerprint256);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** The TLS check a policy makes once the session is up; null when it holds, else why not. */
function policyCheck(policy: TlsPolicy, connection: SMTPConnection, host: MxHost): string | null {
  const socket = connection._socket;
  if (policy === 'opportunistic') return null;
  if (!connection.secure || !(socket instanceof TLSSocket)) return `${host.host} did not start TLS`;
  if (policy === 'dane') {
    const verdict = verifyDane(host.tlsa ?? [], chainOf(socket), [host.host]);
    return verdict.ok ? null : `DANE: ${verdict.reason} (${host.host})`;
  }
  // RFC 8461 §4.2: a certificate valid for the MX name under the trusted CAs.
  if (!socket.authorized) return `MTA-STS: the certificate of ${host.host} is not trusted (${String(socket.authorizationError)})`;
  const mismatch = checkServerIdentity(host.host, socket.getPeerCertificate() as PeerCertificate);
  return mismatch === undefined ? null : `MTA-STS: the certificate does not name ${host.host}`;
}

/** RFC 8460 §4.4: the policy a session was made under, as the report names it. */
function reportedPolicy(facts: DomainFacts, host: MxHost, policy: 'dane' | 'mta-sts' | 'opportunistic'): { policyType: TlsRptPolicyType; policyStrings: string[]; mxHosts: string[] } {
  if (policy === 'dane') {
    const records = (host.tlsa ?? []).map((record) => `${record.usage} ${record.selector} ${record.matchingType} ${Buffer.from(record.data).toString('hex')}`);
    return { policyType: 'tlsa', policyStrings: records, mxHosts: [host.host] };
  }
  const sts = facts.sts;
  if (sts !== null && sts.mode !== 'none') {
    const lines = ['version: STSv1', `mode: ${sts.mode}`, ...sts.mx.map((pattern) => `mx: ${pattern}`), `max_age: ${sts.maxAge}`];
    return { policyType: 'sts', policyStrings: lines, mxHosts: [...sts.mx] };
  }
  return { policyType: 'no-policy-found', policyStrings: [], mxHosts: [] };
}

/** RFC 8460 §4.3: the failure type of a policy check's refusal (policyCheck's words). */
function failureType(refusal: string): TlsRptFailure {
  if (/did not start TLS/.test(refusal)) return 'starttls-not-supported';
  if (/does not name/.test(refusal)) return 'certificate-host-mismatch';
  if (/certificate has expired|CERT_HAS_EXPIRED/.test(refusal)) return 'certificate-expired';
  if (/not trusted/.test(refusal)) return 'certificate-not-trusted';
  return 'validation-failure';
}

function attempt(config: MxDeliveryConfig, facts: DomainFacts, host: MxHost, ip: string, policy: 'dane' | 'mta-sts' | 'opportunistic', envelope: { from: string; to: readonly string[] }, message: OutboundMessage, requireTls: boolean): Promise<Delivery> {
  const connection = new SMTPConnection({
    host: ip,
    port: config.port,
    name: config.clientName,
    servername: host.host, // RFC 7672 §8.1: SNI with the MX host name
    requireTLS: policy !== 'opportunistic',
    opportunisticTLS: policy === 'opportunistic',
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    tls: {
      minVersion: 'TLSv1.2',
      // The policy decides after the handshake (policyCheck): DANE does not use the CAs,
      // opportunistic TLS accepts any certificate (RFC 7435), MTA-STS reads `authorized`.
      rejectUnauthorized: false,
      ...(policy === 'mta-sts' && config.ca !== null ? { ca: [...rootCertificates, config.ca] } : {}),
    },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: DeliveryError) => {
      if (settled) return;
      settled = true;
      connection.close();
      reject(error);
    };
    connection.once('error', (error: Error) => fail(deliveryErrorOf(error)));
    connection.connect((connectError) => {
      if (connectError) {
        // RFC 8460 §4.3: a policy that requires TLS and a server that would not start it, or a handshake that failed.
        if (policy !== 'opportunistic' && /STARTTLS|TLS|SSL|certificate/i.test(connectError.message)) {
          config.tlsSession?.({
            policyDomain: facts.domain,
            ...reportedPolicy(facts, host, policy),
            result: /STARTTLS/i.test(connectError.message) ? 'starttls-not-supported' : 'validation-failure',
            sendingIp: '',
            receivingMx: host.host,
            receivingIp: ip,
          });
        }
        fail(deliveryErrorOf(connectError));
        return;
      }
      const tls = tlsOf(connection);
      const refusal = policyCheck(policy, connection, host);
      // docs/gateway.md §4.9: the session as TLS-RPT counts it (RFC 8460 §4.3); a session without TLS under no policy is starttls-not-supported.
      config.tlsSession?.({
        policyDomain: facts.domain,
        ...reportedPolicy(facts, host, policy),
        result: refusal !== null ? failureType(refusal) : tls === null ? 'starttls-not-supported' : 'success',
        sendingIp: (connection._socket === false ? undefined : connection._socket?.localAddress) ?? '',
        receivingMx: host.host,
        receivingIp: ip,
      });
      if (refusal !== null) {
        fail(new DeliveryError('unreachable', refusal, `451 4.7.5 ${refusal}`));
        return;
      }
      const tlsPolicy: TlsPolicy = policy === 'opportunistic' ? (tls === null ? 'absent' : 'opportunistic') : policy;
      // RFC 8689 §4.1: REQUIRETLS when the message requires TLS and the MX offers it.
      const offersRequireTls = (connection as unknown as { _supportedExtensions?: string[] })._supportedExtensions?.includes('REQUIRETLS') === true;
      const passRequireTls = requireTls && offersRequireTls && tls !== null;
      connection.send({ from: envelope.from, to: [...envelope.to], ...(passRequireTls ? { requireTLSExtensionEnabled: true } : {}) }, messageBody(message), (sendError, info) => {
        if (sendError) {
          fail(deliveryErrorOf(sendError));
          return;
        }
        settled = true;
        connection.quit();
        resolve({ recipients: [...envelope.to], peerHost: host.host, peerIp: ip, tls, tlsPolicy, requireTls: passRequireTls, response: info?.response ?? '' });
      });
    });
  });
}

/**
 * One domain's recipients: each MX host by preference, each of its addresses, under the
 * host's policy; a 5xx ends it (RFC 5321 §5.1), anything else tries the next host.
 * Nothing delivered: `unreachable` with every host's reason (the queue retries), or
 * `refused` when the domain has no mail servers.
 */
async function deliverToDomain(config: MxDeliveryConfig, domain: string, envelope: { from: string; to: readonly string[] }, message: OutboundMessage, options: DeliverOptions): Promise<Delivery> {
  let facts: DomainFacts;
  try {
    facts = await domainFacts(config, domain);
  } catch (error) {
    if (error instanceof DnsTemporaryError) throw new DeliveryError('unreachable', error.message, `451 4.4.3 ${error.message}`);
    throw error;
  }
  const reasons: string[] = [];
  for (const host of facts.mx) {
    const plan = planFor(facts, host, options.requireTls);
    if ('skip' in plan) {
      reasons.push(plan.skip);
      continue;
    }
    let ips: string[];
    try {
      ips = await config.dns.addresses(host.host);
    } catch (error) {
      reasons.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    if (ips.length === 0) reasons.push(`${host.host} has no address`);
    for (const ip of ips.slice(0, 2)) {
      try {
        const delivery = await attempt(config, facts, host, ip, plan.policy, envelope, message, options.requireTls);
        config.log({ event: 'mx_delivered', domain, mx: host.host, tlsPolicy: delivery.tlsPolicy, requireTls: delivery.requireTls, tls: delivery.tls?.version ?? null });
        return delivery;
      } catch (error) {
        if (!(error instanceof DeliveryError)) throw error;
        config.log({ event: 'mx_attempt_failed', domain, mx: host.host, policy: plan.policy, kind: error.kind, error: error.message.slice(0, 300) });
        if (error.kind === 'refused') throw error;
        reasons.push(error.message);
      }
    }
    // RFC 8461 §5, testing mode: a failure is reported, delivery goes on.
    const testing = stsDecision(facts.sts, host.host);
    if (testing.kind === 'testing' && !testing.mxAllowed) config.log({ event: 'mta_sts_testing_mismatch', domain, mx: host.host });
  }
  const reason = reasons.length === 0 ? `${domain}: no MX host to try` : reasons.join('; ');
  throw new DeliveryError('unreachable', reason, `451 4.4.0 ${reason}`.slice(0, 500));
}

function domainOf(address: string): string {
  return parseAddress(address)?.domain ?? address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** docs/gateway.md §4.8.5: what the relay knows, now, of a domain's guarantee. */
async function policyOf(config: MxDeliveryConfig, domain: string): Promise<DomainTlsPolicyResponse> {
  let facts: DomainFacts;
  try {
    facts = await domainFacts(config, domain);
  } catch {
    return { domain, policy: 'none', tlsGuaranteed: false, via: 'mx' };
  }
  if (facts.mx.some((host) => host.tlsa !== null)) return { domain, policy: 'dane', tlsGuaranteed: true, via: 'mx' };
  if (facts.mx.some((host) => {
    const decision = stsDecision(facts.sts, host.host);
    return decision.kind === 'enforce' && decision.mxAllowed;
  })) {
    return { domain, policy: 'mta-sts', tlsGuaranteed: true, via: 'mx' };
  }
  return { domain, policy: 'none', tlsGuaranteed: false, via: 'mx' };
}

export function mxTransport(config: MxDeliveryConfig): OutboundTransport {
  return {
    kind: 'mx',
    split: (recipients) => {
      const byDomain = new Map<string, string[]>();
      for (const address of recipients) byDomain.set(domainOf(address), [...(byDomain.get(domainOf(address)) ?? []), address]);
      return [...byDomain.values()];
    },
    deliver: (envelope, message, options) => deliverToDomain(config, domainOf(envelope.to[0] ?? ''), envelope, message, options),
    policyOf: (domain) => policyOf(config, domain),
  };
}
