// docs/gateway.md §4.8.1: the relay's own DNS questions for outbound delivery (MX, A,
// AAAA, TXT, TLSA), asked over UDP of the configured resolver with the DO bit set, so
// the answer says whether the resolver validated it (the AD bit, RFC 4035 §3.2.3).
// Like Postfix's `smtp_dns_support_level = dnssec`, the relay believes the AD bit only
// from a validating resolver on loopback (RFC 6698 §4.1, RFC 7672 §1.3): options.ts
// refuses any other address. Packets are read and written by dns-packet
// (docs/decisions/dns-packet.md); this file only sends, waits and checks.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import * as dnsPacket from 'dns-packet';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export type DnsRecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'TLSA';

/** One answer: the records of the asked type, and whether the resolver vouched for them. */
export interface DnsAnswer {
  /** NOERROR, NXDOMAIN (both: an answer); anything else is thrown as a DnsTemporaryError. */
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
  /** RFC 4035 §3.2.3: the AD bit: every record of the answer (or its denial) was validated. */
  readonly authenticated: boolean;
  /** `data` as dns-packet decodes it: a string (A, AAAA), { preference, exchange } (MX), Buffer[] (TXT), { usage, selector, matchingType, certificate } (TLSA). */
  readonly records: readonly { readonly type: string; readonly data: unknown }[];
}

/** No usable answer now (timeout, SERVFAIL, an answer truncated even over TCP): RFC 7672 §2.1.1 defers delivery. */
export class DnsTemporaryError extends Error {
  override readonly name = 'DnsTemporaryError';
}

/** At most this long for one answer; at most this many bytes of answer (EDNS payload size, RFC 6891). */
const TIMEOUT_MS = 5_000;
const UDP_PAYLOAD = 1_232;
/** RFC 1035 §4.2.2: a TCP message carries a two-byte length, so no answer is longer than this. */
const TCP_MAX_MESSAGE = 65_535;

function sameName(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

export class DnsClient {
  constructor(
    private readonly server: DnsServer,
    private readonly timeoutMs: number = TIMEOUT_MS,
  ) {}

  /**
   * Asks `type` of `name`; the answer is believed only from the configured server and for
   * the question asked. A UDP answer with the TC bit is asked again over TCP (RFC 7766 §5,
   * RFC 1035 §4.2.2), as every stub resolver does: a large TLSA or TXT RRset is an answer,
   * not a failure.
   */
  async query(name: string, type: DnsRecordType): Promise<DnsAnswer> {
    const overUdp = await this.#queryUdp(name, type);
    if (overUdp !== 'truncated') return overUdp;
    const overTcp = await this.#queryTcp(name, type);
    if (overTcp === 'truncated') throw new DnsTemporaryError(`${type} ${name}: the answer was truncated, over UDP and over TCP`);
    return overTcp;
  }

  #question(id: number, name: string, type: DnsRecordType): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id,
      // RFC 6840 §5.7: AD in a query asks for the AD bit in the answer; RD: a recursive resolver.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
      questions: [{ type, name, class: 'IN' }],
      // RFC 3225: the DO bit, so a validating resolver validates and says so.
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK, flag_do: true, options: [] }],
    });
  }

  /** The answer in `bytes` if it is the one to this question; undefined for anything else (ignored: a spoofing attempt or noise). */
  #answerFor(bytes: Buffer, id: number, name: string, type: DnsRecordType): DnsAnswer | 'truncated' | Error | undefined {
    let packet: dnsPacket.DecodedPacket & { rcode?: string };
    try {
      packet = dnsPacket.decode(bytes);
    } catch {
      return undefined;
    }
    const asked = packet.questions?.[0];
    if (packet.id !== id || !packet.flag_qr || asked === undefined || asked.type !== type || !sameName(asked.name, name)) return undefined;
    if (packet.flag_tc) return 'truncated';
    if (packet.rcode !== 'NOERROR' && packet.rcode !== 'NXDOMAIN') return new DnsTemporaryError(`${type} ${name}: ${packet.rcode ?? 'no rcode'}`);
    const records = (packet.answers ?? []).filter((record) => record.type === type).map((record) => ({ type: record.type, data: 'data' in record ? (record.data as unknown) : undefined }));
    return { rcode: packet.rcode, authenticated: packet.flag_ad, records };
  }

  #queryUdp(name: string, type: DnsRecordType): Promise<DnsAnswer | 'truncated'> {
    const id = randomInt(0, 65_536);
    const question = this.#question(id, name, type);
    const socket = createSocket(isIP(this.server.host) === 6 ? 'udp6' : 'udp4');
    return new Promise<DnsAnswer | 'truncated'>((resolve, reject) => {
      const timer = setTimeout(() => finish(new DnsTemporaryError(`${type} ${name}: no answer from ${this.server.host}:${this.server.port} in ${this.timeoutMs} ms`)), this.timeoutMs);
      const finish = (outcome: DnsAnswer | 'truncated' | Error) => {
        clearTimeout(timer);
        socket.removeAllListeners('message');
        socket.close();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      socket.on('error', (error) => finish(new DnsTemporaryError(`${type} ${name}: ${error.message}`)));
      socket.on('message', (bytes, from) => {
        // Anything not from the server, or not the answer to this question, is ignored (a spoofing attempt).
        if (from.port !== this.server.port || from.address.replace(/^::ffff:/, '') !== this.server.host.replace(/^::ffff:/, '')) return;
        const outcome = this.#answerFor(bytes, id, name, type);
        if (outcome !== undefined) finish(outcome);
      });
      socket.send(question, this.server.port, this.server.host, (error) => {
        if (error) finish(new DnsTemporaryError(`${type} ${name}: ${error.message}`));
      });
    });
  }

  /**
   * The same question over TCP to the same server (RFC 7766): one two-byte-length-prefixed
   * query, one answer read up to its announced length (at most 65,535 bytes, RFC 1035
   * §4.2.2), the same checks as over UDP, the same time limit.
   */
  #queryTcp(name: string, type: DnsRecordType): Promise<DnsAnswer | 'truncated'> {
    const id = randomInt(0, 65_536);
    const question = this.#question(id, name, type);
    const framed = Buffer.alloc(2 + question.length);
    framed.writeUInt16BE(question.length, 0);
    question.copy(framed, 2);
    const socket = connect({ host: this.server.host, port: this.server.port });
    return new Promise<DnsAnswer | 'truncated'>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let settled = false;
      const finish = (outcome: DnsAnswer | 'truncated' | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish(new DnsTemporaryError(`${type} ${name}: no answer over TCP from ${this.server.host}:${this.server.port} in ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.on('error', (error) => finish(new DnsTemporaryError(`${type} ${name} over TCP: ${error.message}`)));
      socket.on('end', () => finish(new DnsTemporaryError(`${type} ${name}: the TCP answer ended early`)));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 2 + TCP_MAX_MESSAGE) {
          finish(new DnsTemporaryError(`${type} ${name}: the TCP answer is longer than its length prefix allows`));
          return;
        }
        chunks.push(chunk);
        const bytes = Buffer.concat(chunks);
        if (bytes.length < 2) return;
        const length = bytes.readUInt16BE(0);
        if (bytes.length < 2 + length) return;
        // Over TCP the server is the connected one; the answer must still be this question's.
        const outcome = this.#answerFor(bytes.subarray(2, 2 + length), id, name, type);
        finish(outcome ?? new DnsTemporaryError(`${type} ${name}: the TCP answer is not an answer to the question`));
      });
      socket.write(framed);
    });
  }

  /** The addresses of a host, IPv4 then IPv6; empty when it has none. */
  async addresses(host: string): Promise<string[]> {
    const out: string[] = [];
    for (const type of ['A', 'AAAA'] as const) {
      const answer = await this.query(host, type);
      for (const record of answer.records) if (typeof record.data === 'string') out.push(record.data);
    }
    return out;
  }

  /** TXT strings of a name, each record's strings joined (RFC 7208 §3.3). */
  async txt(name: string): Promise<string[][]> {
    const answer = await this.query(name, 'TXT');
    return answer.records.map((record) => (Array.isArray(record.data) ? (record.data as (Buffer | string)[]).map((part) => part.toString()) : [String(record.data)]));
  }
}
