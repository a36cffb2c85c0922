// docs/gateway.md §4.8: delivery straight to the recipient domain's MX under its TLS
// policy. Real parts on loopback: a DNS server (UDP, dns-packet) that answers MX, A,
// TXT and TLSA and sets the AD bit for the zones the test calls signed; real SMTP
// servers with STARTTLS (certificates chosen by SNI) and one without; a real HTTPS
// MTA-STS policy server with a test CA the relay is told to trust (--outbound-ca);
// the real relay (SQLite, or PostgreSQL in the postgres project) with --deliver-to-mx.
// The decisions: DANE-verified (3 1 1 and 2 1 1), MTA-STS enforced, MTA-STS testing,
// opportunistic, absent; the refusals (a TLSA record that does not match; MTA-STS
// enforce with a certificate the CA did not sign): nothing delivered; REQUIRETLS.

import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import * as dnsPacket from 'dns-packet';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpOutboundFactsSchema } from '../../src/api/facts.js';
import type { RelayClient } from '../../src/edges/relay-client.js';
import { startRelayProcess, type RelayProcess } from '../relay/helpers/relay-process.js';
import { enrolled, type TestIdentity } from '../relay/helpers/test-identity.js';
import { initEnrolled, onStick } from '../helpers/caliop.js';
import { mkdirSync } from 'node:fs';
import { temporaryFolder, type TemporaryFolder } from '../helpers/temp-folder.js';
import { createInterface } from 'node:readline';
import { execFile } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { RELAY_MAIN } from '../relay/helpers/relay-process.js';
import { databaseNameFor, databaseUrl, TEST_STORE } from '../relay/helpers/test-store.js';
import { nextMatchingLine } from '../helpers/events.js';

interface Pem {
  readonly cert: string;
  readonly key: string;
}

/** openssl: a CA, and leaf certificates for names, signed by it or by themselves. */
function makePki(dir: string) {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Caliop test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  const leaf = (name: string, signedByCa: boolean): Pem => {
    const base = name.replace(/[^a-z0-9]/g, '_');
    const ext = join(dir, `${base}.ext`);
    writeFileSync(ext, `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    if (signedByCa) {
      run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
      run(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', '2', '-extfile', ext]);
    } else {
      run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`]);
    }
    return { cert: readFileSync(join(dir, `${base}.pem`), 'utf8'), key: readFileSync(join(dir, `${base}.key`), 'utf8') };
  };
  return { caFile: join(dir, 'ca.pem'), ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), leaf };
}

/** RFC 6698 §2.1: selector 1 (SPKI), matching type 1 (SHA-256). */
function spkiSha256(pem: string): Buffer {
  return createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest();
}

type Zone = Record<string, { secure: boolean; MX?: { preference: number; exchange: string }[]; A?: string[]; TXT?: string[]; TLSA?: { usage: number; selector: number; matchingType: number; certificate: Buffer }[] }>;

/** A resolver on loopback that answers from `zone` and sets AD (RFC 4035 §3.2.3) for the names marked secure, as a validating resolver would. */
async function startDns(zone: Zone): Promise<{ port: number; queries: string[]; close(): void }> {
  const socket: Socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (bytes, from) => {
    const query = dnsPacket.decode(bytes);
    const question = query.questions?.[0];
    if (question === undefined) return;
    queries.push(`${question.type} ${question.name}`);
    const entry = zone[question.name.toLowerCase()];
    const data = entry?.[question.type as 'MX' | 'A' | 'TXT' | 'TLSA'] ?? [];
    const answers = data.map((value) => ({ type: question.type, name: question.name, ttl: 60, class: 'IN', data: question.type === 'TXT' ? [value as string] : value }));
    const rcode = entry === undefined ? 3 : 0; // NXDOMAIN for names not in the zone
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (entry?.secure === true ? dnsPacket.AUTHENTIC_DATA : 0) | rcode;
    const answer = dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags, questions: [question], answers: answers as dnsPacket.Answer[] });
    socket.send(answer, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, queries, close: () => socket.close() };
}

interface Received {
  readonly to: string[];
  readonly secure: boolean;
  readonly servername: string | undefined;
  readonly requireTls: boolean;
  readonly raw: string;
}

/** A real SMTP server; with `sni`, STARTTLS with the certificate of the name the client asked for. */
async function startSink(host: string, port: number, sni: Map<string, Pem> | null, offersRequireTls: boolean, defers: (recipient: string) => boolean = () => false) {
  const received: Received[] = [];
  const events = new EventEmitter();
  const fallback = sni?.values().next().value;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: sni === null ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    hideREQUIRETLS: !offersRequireTls,
    logger: false,
    ...(sni === null || fallback === undefined
      ? {}
      : {
          cert: fallback.cert,
          key: fallback.key,
          SNICallback: (name: string, callback: (error: Error | null, context?: ReturnType<typeof createSecureContext>) => void) => {
            const pem = sni.get(name.toLowerCase()) ?? fallback;
            callback(null, createSecureContext({ cert: pem.cert, key: pem.key }));
          },
        }),
    onRcptTo(address, _session, callback) {
      if (defers(address.address.toLowerCase())) callback(Object.assign(new Error('4.3.2 Try again later'), { responseCode: 451 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope as typeof session.envelope & { requireTLS?: boolean };
        received.push({ to: envelope.rcptTo.map((rcpt) => rcpt.address), secure: session.secure, servername: (session as { servername?: string }).servername, requireTls: envelope.requireTLS === true, raw: Buffer.concat(chunks).toString('utf8') });
        events.emit('received');
        callback(null, 'Ok: queued as TEST');
      });
    },
  });
  server.listen(port, host);
  await once(server.server, 'listening');
  return { port: (server.server.address() as { port: number }).port, received, events, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let scratch: TemporaryFolder;
let dns: Awaited<ReturnType<typeof startDns>>;
let tlsSink: Awaited<ReturnType<typeof startSink>>;
let plainSink: Awaited<ReturnType<typeof startSink>>;
let policyServer: HttpsServer;
let relay: RelayProcess;
let alice: { identity: TestIdentity; client: RelayClient };
/** Recipient domains whose MX answers 451 at RCPT for now (the queue's later delivery). */
const holding = new Set(['held.test']);
const relayLines = new EventEmitter();

/** Resolves on the relay's next log line of `event` that matches; no fixed sleep. */
const relayEvent = (event: string, match: (line: string) => boolean): Promise<string> => nextMatchingLine(relayLines, event, match);

const POLICIES: Record<string, string> = {
  'mta-sts.sts.test': 'version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n',
  'mta-sts.stsbad.test': 'version: STSv1\nmode: enforce\nmx: mx.stsbad.test\nmax_age: 86400\n',
  'mta-sts.ststesting.test': 'version: STSv1\nmode: testing\nmx: other.ststesting.test\nmax_age: 86400\n',
};

beforeAll(async () => {
  scratch = temporaryFolder('mx-delivery');
  const pki = makePki(scratch.path);
  const dane = pki.leaf('mx.dane.test', false); // DANE-EE: a self-signed certificate is fine (RFC 7672 §3.1.1)
  const daneBad = pki.leaf('mx.danebad.test', false);
  const daneTa = pki.leaf('mx.daneta.test', true); // DANE-TA: the CA's key is published
  const sts = pki.leaf('mx.sts.test', true);
  const stsBad = pki.leaf('mx.stsbad.test', false); // not signed by the trusted CA
  const plain = pki.leaf('mx.plain.test', false);
  const sni = new Map<string, Pem>([
    ['mx.dane.test', dane],
    ['mx.danebad.test', daneBad],
    // RFC 7672 §3.1.2: with DANE-TA the server sends the chain up to the published CA.
    ['mx.daneta.test', { cert: daneTa.cert + pki.ca, key: daneTa.key }],
    ['mx.sts.test', sts],
    ['mx.stsbad.test', stsBad],
    ['mx.plain.test', plain],
    ['mx.ststesting.test', plain],
  ]);
  tlsSink = await startSink('127.0.0.1', 0, sni, true, (recipient) => holding.has(recipient.slice(recipient.indexOf('@') + 1)));
  // A server with no STARTTLS at another loopback address, on the same port (MX records carry no port).
  plainSink = await startSink('127.0.0.2', tlsSink.port, null, false);

  const policyCerts = new Map(['mta-sts.sts.test', 'mta-sts.stsbad.test', 'mta-sts.ststesting.test'].map((name) => [name, pki.leaf(name, true)]));
  const firstPolicy = policyCerts.get('mta-sts.sts.test') as Pem;
  policyServer = createHttpsServer(
    { cert: firstPolicy.cert, key: firstPolicy.key, SNICallback: (name, callback) => callback(null, createSecureContext(policyCerts.get(name) ?? firstPolicy)) },
    (request, response) => {
      const body = POLICIES[String(request.headers.host)];
      if (request.url !== '/.well-known/mta-sts.txt' || body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    },
  );
  policyServer.listen(0, '127.0.0.1');
  await once(policyServer, 'listening');
  const policyPort = (policyServer.address() as { port: number }).port;

  const mx = (host: string) => [{ preference: 10, exchange: host }];
  const tlsa = (usage: number, hash: Buffer) => [{ usage, selector: 1, matchingType: 1, certificate: hash }];
  dns = await startDns({
    'dane.test': { secure: true, MX: mx('mx.dane.test') },
    'mx.dane.test': { secure: true, A: ['127.0.0.1'] },
    '_25._tcp.mx.dane.test': { secure: true, TLSA: tlsa(3, spkiSha256(dane.cert)) },
    'danebad.test': { secure: true, MX: mx('mx.danebad.test') },
    'mx.danebad.test': { secure: true, A: ['127.0.0.1'] },
    '_25._tcp.mx.danebad.test': { secure: true, TLSA: tlsa(3, spkiSha256(plain.cert)) }, // another key: no match
    'daneta.test': { secure: true, MX: mx('mx.daneta.test') },
    'mx.daneta.test': { secure: true, A: ['127.0.0.1'] },
    '_25._tcp.mx.daneta.test': { secure: true, TLSA: tlsa(2, spkiSha256(pki.ca)) },
    // The same TLSA record, but the resolver did not validate it (no AD): not DANE.
    'unsigned.test': { secure: false, MX: mx('mx.dane.test') },
    'sts.test': { secure: false, MX: mx('mx.sts.test') },
    'mx.sts.test': { secure: false, A: ['127.0.0.1'] },
    '_mta-sts.sts.test': { secure: false, TXT: ['v=STSv1; id=20261130'] },
    'mta-sts.sts.test': { secure: false, A: ['127.0.0.1'] },
    'stsbad.test': { secure: false, MX: mx('mx.stsbad.test') },
    'mx.stsbad.test': { secure: false, A: ['127.0.0.1'] },
    '_mta-sts.stsbad.test': { secure: false, TXT: ['v=STSv1; id=1'] },
    'mta-sts.stsbad.test': { secure: false, A: ['127.0.0.1'] },
    'ststesting.test': { secure: false, MX: mx('mx.ststesting.test') },
    'mx.ststesting.test': { secure: false, A: ['127.0.0.1'] },
    '_mta-sts.ststesting.test': { secure: false, TXT: ['v=STSv1; id=1'] },
    'mta-sts.ststesting.test': { secure: false, A: ['127.0.0.1'] },
    'plain.test': { secure: false, MX: mx('mx.plain.test') },
    'held.test': { secure: false, MX: mx('mx.plain.test') },
    // RFC 8460 §3: the domains that ask for TLS reports, and where the reports go.
    '_smtp._tls.sts.test': { secure: false, TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@reports.test'] },
    '_smtp._tls.stsbad.test': { secure: false, TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@reports.test'] },
    'reports.test': { secure: false, MX: mx('mx.plain.test') },
    'mx.plain.test': { secure: false, A: ['127.0.0.1'] },
    'notls.test': { secure: false, MX: mx('mx.notls.test') },
    'mx.notls.test': { secure: false, A: ['127.0.0.2'] },
  });

  relay = await startRelayProcess({
    extraArgs: [
      '--deliver-to-mx',
      '--outbound-resolver', `127.0.0.1:${dns.port}`,
      '--outbound-ca', pki.caFile,
      '--mx-port', String(tlsSink.port),
      '--mta-sts-port', String(policyPort),
      '--outbound-retry-seconds', '1',
    ],
  });
  createInterface({ input: relay.child.stderr! }).on('line', (line) => {
    try {
      const event = (JSON.parse(line) as { event?: string }).event;
      if (event !== undefined) relayLines.emit(event, line);
    } catch {
      // not a log line
    }
  });
  alice = await enrolled(relay, 'alice');
}, 120_000);

afterAll(async () => {
  await relay?.dispose();
  await tlsSink?.close();
  await plainSink?.close();
  policyServer?.close();
  dns?.close();
  scratch?.remove();
});

function readable(to: string, subject: string): string {
  return `From: ${alice.identity.address}\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Mon, 30 Nov 2026 21:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\nhello\r\n`;
}

function receivedBy(sink: typeof tlsSink, address: string): Received[] {
  return sink.received.filter((each) => each.to.includes(address));
}

async function sendAndGetFacts(to: string, requireTlsFor?: string[]) {
  const answer = await alice.client.submitOutbound({ envelopeTo: [to], rawMessage: readable(to, `to ${to}`), exposed: true, ...(requireTlsFor ? { requireTlsFor } : {}) });
  if (!('facts' in answer)) throw new Error(`not delivered: ${JSON.stringify(answer)}`);
  const facts = SmtpOutboundFactsSchema.parse(answer.facts);
  return facts.deliveries?.[0];
}

describe('delivery to the MX under the recipient domain policy (docs/gateway.md §4.8)', () => {
  it('DANE-EE 3 1 1, validated (AD): TLS with the published key; the policy lookup says guaranteed', async () => {
    expect(await alice.client.tlsPolicy('dane.test')).toEqual({ domain: 'dane.test', policy: 'dane', tlsGuaranteed: true, via: 'mx' });
    const delivery = await sendAndGetFacts('carol@dane.test');
    expect(delivery).toMatchObject({ recipients: ['carol@dane.test'], server: 'mx.dane.test', via: 'mx', tlsPolicy: 'dane', tls: { version: expect.stringMatching(/^TLSv1\.[23]$/) } });
    expect(receivedBy(tlsSink, 'carol@dane.test')).toMatchObject([{ secure: true, servername: 'mx.dane.test' }]);
    expect(dns.queries).toContain('TLSA _25._tcp.mx.dane.test');
  });

  it('DANE-TA 2 1 1: the chain up to the published CA, and the MX name', async () => {
    const delivery = await sendAndGetFacts('carol@daneta.test');
    expect(delivery).toMatchObject({ server: 'mx.daneta.test', tlsPolicy: 'dane' });
  });

  it('a TLSA record that matches no certificate: nothing delivered, the message waits (202)', async () => {
    const answer = await alice.client.submitOutbound({ envelopeTo: ['carol@danebad.test'], rawMessage: readable('carol@danebad.test', 'danebad'), exposed: true });
    expect('queued' in answer && answer.queued.reason).toMatch(/DANE: no TLSA record matches the certificate presented/);
    expect(receivedBy(tlsSink, 'carol@danebad.test')).toEqual([]);
  });

  it('TLSA answers the resolver did not validate (no AD) are not DANE: opportunistic, not guaranteed', async () => {
    expect(await alice.client.tlsPolicy('unsigned.test')).toMatchObject({ policy: 'none', tlsGuaranteed: false });
    expect(await sendAndGetFacts('carol@unsigned.test')).toMatchObject({ server: 'mx.dane.test', tlsPolicy: 'opportunistic' });
  });

  it('MTA-STS enforce: a certificate valid for the MX under the trusted CA; the lookup says guaranteed', async () => {
    expect(await alice.client.tlsPolicy('sts.test')).toEqual({ domain: 'sts.test', policy: 'mta-sts', tlsGuaranteed: true, via: 'mx' });
    expect(await sendAndGetFacts('carol@sts.test')).toMatchObject({ server: 'mx.sts.test', tlsPolicy: 'mta-sts', tls: { version: expect.stringMatching(/^TLSv1\.[23]$/) } });
  });

  it('MTA-STS enforce with a certificate the CA did not sign: nothing delivered', async () => {
    const answer = await alice.client.submitOutbound({ envelopeTo: ['carol@stsbad.test'], rawMessage: readable('carol@stsbad.test', 'stsbad'), exposed: true });
    expect('queued' in answer && answer.queued.reason).toMatch(/MTA-STS: the certificate of mx\.stsbad\.test is not trusted/);
    expect(receivedBy(tlsSink, 'carol@stsbad.test')).toEqual([]);
  });

  it('MTA-STS testing: reported only, delivered opportunistically, not guaranteed', async () => {
    expect(await alice.client.tlsPolicy('ststesting.test')).toMatchObject({ policy: 'none', tlsGuaranteed: false });
    expect(await sendAndGetFacts('carol@ststesting.test')).toMatchObject({ tlsPolicy: 'opportunistic' });
  });

  it('no policy: opportunistic STARTTLS (any certificate), and absent when the server offers none', async () => {
    expect(await alice.client.tlsPolicy('plain.test')).toEqual({ domain: 'plain.test', policy: 'none', tlsGuaranteed: false, via: 'mx' });
    expect(await sendAndGetFacts('carol@plain.test')).toMatchObject({ tlsPolicy: 'opportunistic', requireTls: false });
    const absent = await sendAndGetFacts('carol@notls.test');
    expect(absent).toMatchObject({ server: 'mx.notls.test', tlsPolicy: 'absent', tls: null });
    expect(receivedBy(plainSink, 'carol@notls.test')).toMatchObject([{ secure: false }]);
  });

  it('REQUIRETLS (RFC 8689): passed in MAIL FROM when the message requires TLS and the MX offers it', async () => {
    expect(await sendAndGetFacts('dave@dane.test', ['dave@dane.test'])).toMatchObject({ tlsPolicy: 'dane', requireTls: true });
    expect(receivedBy(tlsSink, 'dave@dane.test')).toMatchObject([{ requireTls: true }]);
    expect(receivedBy(tlsSink, 'carol@dane.test')).toMatchObject([{ requireTls: false }]);
  });

  it('a message that requires TLS to a domain without a policy is not delivered', async () => {
    const answer = await alice.client.submitOutbound({ envelopeTo: ['dave@plain.test'], rawMessage: readable('dave@plain.test', 'required'), exposed: true, requireTlsFor: ['dave@plain.test'] });
    expect('queued' in answer && answer.queued.reason).toMatch(/no DANE or MTA-STS enforce policy guarantees TLS to mx\.plain\.test/);
    expect(receivedBy(tlsSink, 'dave@plain.test')).toEqual([]);
  });

  it('several domains: one transaction each; the deferred one is queued, the delivered one reported', async () => {
    const answer = await alice.client.submitOutbound({ envelopeTo: ['erin@dane.test', 'erin@danebad.test'], rawMessage: readable('erin@dane.test', 'two domains'), exposed: true });
    expect('queued' in answer).toBe(true);
    if (!('queued' in answer)) return;
    expect(answer.delivered?.deliveries).toMatchObject([{ recipients: ['erin@dane.test'], tlsPolicy: 'dane' }]);
    expect(receivedBy(tlsSink, 'erin@dane.test')).toHaveLength(1);
    expect(receivedBy(tlsSink, 'erin@danebad.test')).toEqual([]);
  });
});

describe('the pre-send index reads the relay\'s answer (docs/exposure.md §2.3)', () => {
  it('caliop send: a domain under DANE is tls-only (TLS guaranteed) and leaves with REQUIRETLS; one without policy stays cleartext', async () => {
    const stick = join(scratch.path, 'stick');
    mkdirSync(stick);
    await initEnrolled(stick, 'Frank', 'frank@example.test', relay);

    const guaranteed = await onStick(stick, ['--json', 'send', '--to', 'gina@dane.test', '--subject', 'lisible', '--allow-exposed'], { input: 'readable body' });
    expect(guaranteed.status, guaranteed.stderr).toBe(0);
    const report = JSON.parse(guaranteed.stdout) as { exposure: { message: { level: string; reasons: { code: string }[] } } };
    expect(report.exposure.message.level).toBe('tls-only');
    expect(report.exposure.message.reasons.map((reason) => reason.code)).toContain('recipient-tls-guaranteed');
    expect(receivedBy(tlsSink, 'gina@dane.test')).toMatchObject([{ secure: true, requireTls: true }]);

    const open = await onStick(stick, ['--json', 'send', '--to', 'gina@plain.test', '--subject', 'lisible', '--allow-exposed'], { input: 'readable body' });
    expect(open.status, open.stderr).toBe(0);
    const openReport = JSON.parse(open.stdout) as { exposure: { message: { level: string; reasons: { code: string }[] } } };
    expect(openReport.exposure.message.level).toBe('cleartext');
    expect(openReport.exposure.message.reasons.map((reason) => reason.code)).toContain('recipient-tls-not-guaranteed');
    expect(receivedBy(tlsSink, 'gina@plain.test')).toMatchObject([{ requireTls: false }]);
  }, 180_000);
});

describe('a deferred message delivered later: its facts reach the sender\'s stick (docs/api.md §8.12, docs/exposure.md §4.6)', () => {
  interface SentEntry {
    subject: string;
    direction: string;
    exposure: { level: string; score: number; reasons: { code: string; params?: Record<string, string> }[] };
    delivery: { state: string; pending: string[]; deliveries: { recipients: string[]; server: string; via: string; tlsPolicy: string; tls: unknown; later: boolean }[] } | null;
  }
  const sentCopy = async (stick: string, subject: string): Promise<SentEntry> => {
    const run = await onStick(stick, ['--json', 'inbox']);
    expect(run.status, run.stderr).toBe(0);
    const entry = (JSON.parse(run.stdout) as SentEntry[]).find((candidate) => candidate.subject === subject && candidate.direction === 'out');
    expect(entry, `no sent copy "${subject}"`).toBeDefined();
    return entry!;
  };

  it('caliop send to an MX that defers: queued and judged on the prediction; after the queue delivered it over opportunistic TLS, caliop sync records the facts and the sent copy is tls-only', async () => {
    const stick = join(scratch.path, 'stick-held');
    mkdirSync(stick);
    await initEnrolled(stick, 'Hana', 'hana@example.test', relay);

    const delivered = relayEvent('outbound_sent', (line) => line.includes('"queued":true'));
    const send = await onStick(stick, ['--json', 'send', '--to', 'ida@held.test', '--subject', 'later', '--allow-exposed'], { input: 'readable body' });
    expect(send.status, send.stderr).toBe(0);
    expect(receivedBy(tlsSink, 'ida@held.test')).toEqual([]);
    const before = await sentCopy(stick, 'later');
    expect(before.delivery).toMatchObject({ state: 'queued', deliveries: [] });
    expect(before.delivery?.pending).toHaveLength(1);
    expect(before.exposure.level).toBe('cleartext');
    expect(before.exposure.reasons.map((reason) => reason.code)).toContain('recipient-tls-not-guaranteed');

    holding.delete('held.test');
    await delivered;
    expect(receivedBy(tlsSink, 'ida@held.test')).toMatchObject([{ secure: true }]);

    const synced = await onStick(stick, ['--json', 'sync']);
    expect(synced.status, synced.stderr).toBe(0);
    expect((JSON.parse(synced.stdout) as { deliveryReports: number }).deliveryReports).toBe(1);
    const after = await sentCopy(stick, 'later');
    expect(after.delivery).toMatchObject({
      state: 'delivered',
      pending: [],
      deliveries: [{ recipients: ['ida@held.test'], server: 'mx.plain.test', via: 'mx', tlsPolicy: 'opportunistic', tls: { version: expect.stringMatching(/^TLSv1\.[23]$/) }, later: true }],
    });
    // docs/exposure.md §4.6: the fact replaces the prediction: tls-only, 42 - 3.
    expect(after.exposure).toMatchObject({ level: 'tls-only', score: 39 });
    const codes = after.exposure.reasons.map((reason) => reason.code);
    expect(codes).toContain('delivered-tls-opportunistic');
    expect(codes).not.toContain('recipient-tls-not-guaranteed');
    expect(after.exposure.reasons.find((reason) => reason.code === 'delivered-tls-opportunistic')?.params).toEqual({ address: 'ida@held.test', server: 'mx.plain.test' });

    // Reported once: the next sync asks nothing more.
    const again = await onStick(stick, ['--json', 'sync']);
    expect((JSON.parse(again.stdout) as { deliveryReports: number }).deliveryReports).toBe(0);
  }, 240_000);
});

describe('TLS-RPT (RFC 8460): the relay reports its sessions to the domains that publish _smtp._tls', () => {
  const runReport = (extra: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const storeArgs = TEST_STORE === 'postgres' ? ['--store', databaseUrl(databaseNameFor(relay.dataDir))] : [];
      execFile(process.execPath, [RELAY_MAIN, 'tls-report', '--data', relay.dataDir, ...storeArgs, '--domain', 'example.test', '--day', new Date().toISOString().slice(0, 10), '--outbound-resolver', `127.0.0.1:${dns.port}`, ...extra], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr }),
      );
    });
  type Report = { policyDomain: string; reportId: string; rua: string[]; results: string[]; report: Record<string, unknown> };

  /** The multipart/report's application/tlsrpt+gzip part, gunzipped and parsed. */
  function reportOf(raw: string): { headers: string; json: Record<string, unknown>; fileName: string } {
    const headers = raw.slice(0, raw.indexOf('\r\n\r\n'));
    const part = /Content-Type: application\/tlsrpt\+gzip; name="([^"]+)"\r\nContent-Transfer-Encoding: base64\r\n[^\r]*\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n\r\n--/.exec(raw);
    expect(part, 'an application/tlsrpt+gzip part').not.toBeNull();
    return { headers, fileName: part![1]!, json: JSON.parse(gunzipSync(Buffer.from(part![2]!.replace(/\r\n/g, ''), 'base64')).toString('utf8')) as Record<string, unknown> };
  }

  it('caliop-relay tls-report: a dry run shows; a run mails one DKIM-signed report per policy domain with the counts of RFC 8460 §4; a second run sends nothing', async () => {
    const dry = await runReport(['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const dryReports = (JSON.parse(dry.stdout) as { reports: Report[] }).reports;
    expect(dryReports.map((report) => report.policyDomain).sort()).toEqual(['sts.test', 'stsbad.test']);
    expect(dryReports.every((report) => report.results.every((result) => result === 'dry-run'))).toBe(true);
    expect(receivedBy(tlsSink, 'tlsrpt@reports.test')).toEqual([]);

    const arrived = new Promise<void>((resolve) => {
      const check = () => {
        if (receivedBy(tlsSink, 'tlsrpt@reports.test').length >= 2) resolve();
        else tlsSink.events.once('received', check);
      };
      check();
    });
    const sent = await runReport([]);
    expect(sent.code, sent.stderr).toBe(0);
    const reports = (JSON.parse(sent.stdout) as { reports: Report[] }).reports;
    expect(reports.map((report) => [report.policyDomain, report.rua, report.results]).sort()).toEqual([
      ['sts.test', ['mailto:tlsrpt@reports.test'], ['queued']],
      ['stsbad.test', ['mailto:tlsrpt@reports.test'], ['queued']],
    ]);
    expect(new Set(reports.map((report) => report.reportId)).size).toBe(2);
    await arrived;

    const mails = receivedBy(tlsSink, 'tlsrpt@reports.test').map((each) => reportOf(each.raw));
    const byDomain = new Map(mails.map((mail) => [(mail.json.policies as { policy: { 'policy-domain': string } }[])[0]!.policy['policy-domain'], mail]));
    for (const [domain, mail] of byDomain) {
      // RFC 8460 §5.3: headers, subject, media type, DKIM.
      expect(mail.headers).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
      expect(mail.headers).toContain(`TLS-Report-Domain: ${domain}\r\n`);
      expect(mail.headers).toContain('TLS-Report-Submitter: example.test\r\n');
      expect(mail.headers).toMatch(new RegExp(`Subject: Report Domain: ${domain.replace('.', '\\.')} Submitter: example\\.test Report-ID: <[^>]+>`));
      expect(mail.headers).toContain('Content-Type: multipart/report; report-type="tlsrpt";');
      expect(mail.fileName).toMatch(new RegExp(`^example\\.test!${domain.replace('.', '\\.')}!\\d+!\\d+!`));
      // RFC 8460 §4.4: the report's fields.
      const day = new Date().toISOString().slice(0, 10);
      expect(mail.json).toMatchObject({
        'organization-name': 'example.test',
        'date-range': { 'start-datetime': `${day}T00:00:00Z`, 'end-datetime': `${day}T23:59:59Z` },
        'contact-info': 'postmaster@example.test',
        'report-id': expect.any(String),
      });
      expect(reports.find((report) => report.policyDomain === domain)?.reportId).toBe(mail.json['report-id']);
    }
    const sts = byDomain.get('sts.test')!.json.policies as { policy: Record<string, unknown>; summary: Record<string, number>; 'failure-details'?: unknown[] }[];
    expect(sts).toEqual([
      {
        policy: { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.sts.test', 'max_age: 86400'], 'policy-domain': 'sts.test', 'mx-host': ['mx.sts.test'] },
        // One message went to carol@sts.test, over TLS the policy authenticated.
        summary: { 'total-successful-session-count': receivedBy(tlsSink, 'carol@sts.test').length, 'total-failure-session-count': 0 },
      },
    ]);
    expect(receivedBy(tlsSink, 'carol@sts.test')).toHaveLength(1);
    const bad = byDomain.get('stsbad.test')!.json.policies as { policy: Record<string, unknown>; summary: Record<string, number>; 'failure-details': Record<string, unknown>[] }[];
    expect(bad).toHaveLength(1);
    expect(bad[0]!.policy).toMatchObject({ 'policy-type': 'sts', 'policy-domain': 'stsbad.test', 'mx-host': ['mx.stsbad.test'] });
    expect(bad[0]!.summary['total-successful-session-count']).toBe(0);
    // The certificate the CA did not sign: every attempt so far (the queue retries it) is one failed session.
    expect(bad[0]!.summary['total-failure-session-count']).toBeGreaterThanOrEqual(1);
    expect(bad[0]!['failure-details']).toEqual([
      { 'result-type': 'certificate-not-trusted', 'sending-mta-ip': '127.0.0.1', 'receiving-mx-hostname': 'mx.stsbad.test', 'receiving-ip': '127.0.0.1', 'failed-session-count': bad[0]!.summary['total-failure-session-count'] },
    ]);

    // RFC 8460 §4: one report per day and policy domain.
    const again = await runReport([]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { reports: Report[] }).reports).toEqual([]);
  }, 180_000);
});
