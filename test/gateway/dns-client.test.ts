// docs/gateway.md §4.8.1: the relay's DNS client. A UDP answer with the TC bit is asked
// again over TCP (RFC 7766 §5) of the same resolver; a TCP answer is bounded by its
// two-byte length (RFC 1035 §4.2.2) and checked like a UDP one. A real resolver on
// loopback (UDP and TCP on one port), written with dns-packet.
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient, DnsTemporaryError } from '../../src/relay/gateway/dns-client.js';

type TcpBehaviour = 'answer' | 'truncated-again' | 'wrong-id' | 'overlong' | 'close-early';

interface Resolver {
  readonly port: number;
  readonly udpQuestions: string[];
  readonly tcpQuestions: string[];
  close(): void;
}

/** Sixty TLSA records: about 2.3 KB, more than the 1,232 bytes of EDNS payload asked over UDP. */
const MANY_TLSA = Array.from({ length: 60 }, (_, index) => ({ usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, index) }));

function answerTo(query: dnsPacket.DecodedPacket, options: { truncated: boolean; id?: number }): Buffer {
  const question = query.questions![0]!;
  const answers = options.truncated ? [] : MANY_TLSA.map((data) => ({ type: 'TLSA', name: question.name, ttl: 60, class: 'IN', data }));
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA | (options.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0);
  return dnsPacket.encode({ type: 'response', id: options.id ?? query.id ?? 0, flags, questions: [question], answers: answers as dnsPacket.Answer[] });
}

/** UDP always answers with TC set and no records; TCP behaves as told. Both on one port, as a resolver listens. */
async function startResolver(tcpBehaviour: TcpBehaviour): Promise<Resolver> {
  for (let attempt = 0; ; attempt += 1) {
    const udp: Socket = createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    const port = udp.address().port;
    const tcp: Server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) {
      udp.close();
      if (attempt > 20) throw new Error('no port free for both UDP and TCP');
      continue;
    }
    const udpQuestions: string[] = [];
    const tcpQuestions: string[] = [];
    udp.on('message', (bytes, from) => {
      const query = dnsPacket.decode(bytes);
      udpQuestions.push(`${query.questions?.[0]?.type} ${query.questions?.[0]?.name}`);
      udp.send(answerTo(query, { truncated: true }), from.port, from.address);
    });
    tcp.on('connection', (socket: TcpSocket) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        const query = dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        tcpQuestions.push(`${query.questions?.[0]?.type} ${query.questions?.[0]?.name}`);
        if (tcpBehaviour === 'close-early') {
          socket.end(Buffer.from([0x10, 0x00, 0x01]));
          return;
        }
        if (tcpBehaviour === 'overlong') {
          // An endless answer: the client must stop reading at the length prefix's bound.
          const block = Buffer.alloc(16_384, 0x41);
          socket.write(Buffer.from([0xff, 0xff]));
          const pump = () => {
            while (!socket.destroyed && socket.write(block));
            if (!socket.destroyed) socket.once('drain', pump);
          };
          pump();
          return;
        }
        const answer = answerTo(query, { truncated: tcpBehaviour === 'truncated-again', id: tcpBehaviour === 'wrong-id' ? ((query.id ?? 0) + 1) % 65_536 : undefined });
        const framed = Buffer.alloc(2 + answer.length);
        framed.writeUInt16BE(answer.length, 0);
        answer.copy(framed, 2);
        // Sent in two pieces, as TCP may deliver it.
        socket.write(framed.subarray(0, 5));
        setImmediate(() => socket.write(framed.subarray(5)));
      });
    });
    return { port, udpQuestions, tcpQuestions, close: () => { udp.close(); tcp.close(); } };
  }
}

describe('DnsClient: truncated UDP answers are asked again over TCP (RFC 7766)', () => {
  let resolver: Resolver | undefined;
  afterEach(() => resolver?.close());

  it('a TLSA RRset too large for UDP arrives whole over TCP, with its AD bit', async () => {
    resolver = await startResolver('answer');
    const answer = await new DnsClient({ host: '127.0.0.1', port: resolver.port }).query('_25._tcp.mx.example.net', 'TLSA');
    expect(resolver.udpQuestions).toEqual(['TLSA _25._tcp.mx.example.net']);
    expect(resolver.tcpQuestions).toEqual(['TLSA _25._tcp.mx.example.net']);
    expect(answer.rcode).toBe('NOERROR');
    expect(answer.authenticated).toBe(true);
    expect(answer.records).toHaveLength(MANY_TLSA.length);
    expect((answer.records[59]!.data as { certificate: Buffer }).certificate).toEqual(Buffer.alloc(32, 59));
  });

  it('an answer truncated over TCP too, an answer to another id, an answer cut short: each a temporary failure, never "no record"', async () => {
    for (const behaviour of ['truncated-again', 'wrong-id', 'close-early'] as const) {
      resolver = await startResolver(behaviour);
      const asked = new DnsClient({ host: '127.0.0.1', port: resolver.port }).query('_25._tcp.mx.example.net', 'TLSA');
      await expect(asked, behaviour).rejects.toBeInstanceOf(DnsTemporaryError);
      expect(resolver.tcpQuestions, behaviour).toHaveLength(1);
      resolver.close();
      resolver = undefined;
    }
  });

  it('a TCP answer that never ends is cut off at the 65,535 bytes its length prefix allows', async () => {
    resolver = await startResolver('overlong');
    const asked = new DnsClient({ host: '127.0.0.1', port: resolver.port }, 60_000).query('_25._tcp.mx.example.net', 'TLSA');
    // Stopped at the bound (or at the garbage inside it), long before the 60 s limit.
    await expect(asked).rejects.toBeInstanceOf(DnsTemporaryError);
    expect(resolver.tcpQuestions).toHaveLength(1);
  });
});
